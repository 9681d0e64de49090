{#- Per key of an SCD2 history (one row per version, ordered by `order_by`), how often
    `column` changed: versions whose value differs from the version before. A key
    without a change has no row. E.g. the reference's customer_360.segment_changes:

        rerated as ({{ basin.history_changes(ref('int_customer_history'), 'customer_id', 'segment') }})
-#}
{% macro history_changes(relation, key, column, order_by='valid_from') -%}
    select {{ key }}, count(*) as changes
    from (
        select
            {{ key }},
            {{ column }},
            lag({{ column }}) over (partition by {{ key }} order by {{ order_by }}) as previous_value
        from {{ relation }}
    ) as versions
    where previous_value is not null and previous_value <> {{ column }}
    group by {{ key }}
{%- endmacro %}
