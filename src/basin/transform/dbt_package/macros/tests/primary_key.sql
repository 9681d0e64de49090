{#- A primary key: the column is never null and each value appears once — dbt's
    `unique` and `not_null` in one test (one node, one query), as dbt_constraints'
    primary_key test does. Fails with each repeated value and how often it occurs, and
    one row (unique_field null) counting the null keys. Following a delta
    (macros/delta.sql) like `unique`: the new rows' keys, each counted over the whole
    table, and the new rows' nulls. -#}
{% test primary_key(model, column_name) %}
    {%- set new_rows = basin.delta_rows_predicate(model) %}
    {{ basin.repeated_keys(model, column_name, new_rows) }}

    union all

    select null as unique_field, count(*) as n_records
    from {{ model }}
    where {{ column_name }} is null
    {%- if new_rows %}
        and {{ new_rows }}
    {%- endif %}
    having count(*) > 0
{% endtest %}
