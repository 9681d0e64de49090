{#-
    dbt's unique, not_null, accepted_values and relationships tests, following the
    delta (macros/delta.sql) when the build follows one. Basin puts this package
    before dbt's own in the project's dispatch order, so `unique` in a schema file
    means this. Without a delta (the first build, `basin check`), and on a relation
    without a batch id or vault load_date column, they are dbt's tests exactly.

    - unique: the keys of the new rows, each counted over the whole table — a new row
      repeating an old key fails, as it would in a whole-table test. Old rows alone
      were tested when they were new, and a delta stays the delta until a build
      passes, so a failure is found again by every build until it is fixed.
    - not_null, accepted_values: the new rows (a row-wise rule).
    - relationships: the new rows of the child (a parent key is never taken away: the
      layers keep every key they have seen).
-#}

{% macro default__test_unique(model, column_name) %}
{{ basin.repeated_keys(model, column_name, basin.delta_rows_predicate(model)) }}
{% endmacro %}


{#- The values of `column_name` that appear more than once (with how often): those of
    the rows matching `new_rows`, each counted over the whole table, or all (no
    predicate). Shared by unique and basin.primary_key. -#}
{% macro repeated_keys(model, column_name, new_rows) %}
select
    {{ column_name }} as unique_field,
    count(*) as n_records

from {{ model }}
where {{ column_name }} is not null
{%- if new_rows %}
    and {{ column_name }} in (select {{ column_name }} from {{ model }} where {{ new_rows }})
{%- endif %}
group by {{ column_name }}
having count(*) > 1
{% endmacro %}


{% macro default__test_not_null(model, column_name) %}
{%- set new_rows = basin.delta_rows_predicate(model) %}
{%- set column_list = '*' if should_store_failures() else column_name %}
select {{ column_list }}
from {{ model }}
where {{ column_name }} is null
{%- if new_rows %}
    and {{ new_rows }}
{%- endif %}
{% endmacro %}


{% macro default__test_accepted_values(model, column_name, values, quote=True) %}
{%- set new_rows = basin.delta_rows_predicate(model) %}
with all_values as (

    select
        {{ column_name }} as value_field,
        count(*) as n_records

    from {{ model }}
    {%- if new_rows %}
    where {{ new_rows }}
    {%- endif %}
    group by {{ column_name }}

)

select *
from all_values
where value_field not in (
    {% for value in values -%}
        {% if quote -%}
        '{{ value }}'
        {%- else -%}
        {{ value }}
        {%- endif -%}
        {%- if not loop.last -%},{%- endif %}
    {%- endfor %}
)
{% endmacro %}


{% macro default__test_relationships(model, column_name, to, field) %}
{%- set new_rows = basin.delta_rows_predicate(model) %}
with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
    {%- if new_rows %}
        and {{ new_rows }}
    {%- endif %}
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null
{% endmacro %}
