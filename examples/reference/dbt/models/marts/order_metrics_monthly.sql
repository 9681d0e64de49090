with

orders as (

    select * from {{ ref('int_orders_totaled') }}

),

per_month as (

    select
        cast({{ dbt.date_trunc('month', 'ordered_at') }} as date) as order_month,
        count(*) as order_count,
        sum(case when order_status = 'delivered' then 1 else 0 end) as delivered_count,
        sum(case when order_status = 'cancelled' then 1 else 0 end) as cancelled_count,
        sum(case when order_status <> 'cancelled' then order_total else 0 end) as revenue

    from orders
    group by 1

),

final as (

    select
        order_month,
        order_count,
        delivered_count,
        cancelled_count,
        revenue,
        round(cast(delivered_count as decimal(18, 6)) / order_count, 4) as fulfilment_rate,
        round(cast(cancelled_count as decimal(18, 6)) / order_count, 4) as cancellation_rate

    from per_month

)

select * from final
