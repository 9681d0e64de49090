{#- Each combination of `columns` appears once: dbt's `unique` over several columns
    (a satellite's key and load date, a PIT's key and date). Fails with the repeated
    combinations and how often each occurs. -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
