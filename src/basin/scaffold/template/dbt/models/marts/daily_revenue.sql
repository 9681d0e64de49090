with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

final as (

    select
        cast(ordered_at as date) as order_date,
        count(*) as order_count,
        sum(case when order_status = 'paid' then amount else 0 end) as paid_revenue

    from orders
    group by 1

)

select * from final
