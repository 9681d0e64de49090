{#- Each combination of `columns` appears once: dbt's `unique` over several columns
    (a satellite's key and load date, a PIT's key and date). Fails with the repeated
    combinations and how often each occurs. Following a delta (macros/delta.sql), only
    combinations whose first column a new row holds are counted — over the whole table. -#}
{% test unique_combination(model, columns) %}
    {%- set new_rows = basin.delta_rows_predicate(model) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    {%- if new_rows %}
    where {{ columns[0] }} in (select {{ columns[0] }} from {{ model }} where {{ new_rows }})
    {%- endif %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
