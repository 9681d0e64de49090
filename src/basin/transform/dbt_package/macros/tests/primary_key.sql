{#- A primary key: the column is never null and each value appears once — dbt's
    `unique` and `not_null` in one test (one node, one query), as dbt_constraints'
    primary_key test does. Fails with each repeated value and how often it occurs, and
    one row (key_value null) counting the null keys. Following a delta
    (macros/delta.sql) like `unique`: the new rows' keys, each counted over the whole
    table, and the new rows' nulls. -#}
{% test primary_key(model, column_name) %}
    {%- set new_rows = basin.delta_rows_predicate(model) %}
    select {{ column_name }} as key_value, count(*) as n_records
    from {{ model }}
    where {{ column_name }} is not null
    {%- if new_rows %}
        and {{ column_name }} in (select {{ column_name }} from {{ model }} where {{ new_rows }})
    {%- endif %}
    group by {{ column_name }}
    having count(*) > 1

    union all

    select null as key_value, count(*) as n_records
    from {{ model }}
    where {{ column_name }} is null
    {%- if new_rows %}
        and {{ new_rows }}
    {%- endif %}
    having count(*) > 0
{% endtest %}
