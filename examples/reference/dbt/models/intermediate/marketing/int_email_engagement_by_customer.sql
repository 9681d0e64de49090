{#- Incremental by recipient: following a delta, only the addresses the new email
    events name are counted again, over all their events (delete+insert). -#}
{{ config(materialized='incremental', unique_key='customer_email', incremental_strategy='delete+insert') }}

with

events as (

    select * from {{ ref('stg_email__email_events') }}
    {% if is_incremental() %}
    where customer_email in (
        select customer_email from {{ ref('stg_email__email_events') }} where {{ basin.in_delta() }}
    )
    {% endif %}

),

final as (

    select
        customer_email,
        sum(case when event_type = 'delivered' then 1 else 0 end) as emails_delivered,
        sum(case when event_type = 'opened' then 1 else 0 end) as emails_opened,
        sum(case when event_type = 'clicked' then 1 else 0 end) as emails_clicked,
        sum(case when event_type = 'unsubscribed' then 1 else 0 end) as unsubscribes,
        max(case when event_type in ('opened', 'clicked') then occurred_at end) as last_engaged_at

    from events
    group by customer_email

)

select * from final
