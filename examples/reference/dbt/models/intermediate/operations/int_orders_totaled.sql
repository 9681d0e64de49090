{#- Incremental by order: following a delta, only the orders whose row or items the
    new batches brought are totalled again (delete+insert). -#}
{{ config(materialized='incremental', unique_key='order_id', incremental_strategy='delete+insert') }}

with

touched as (

    select order_id from {{ ref('stg_operations__orders') }} where {{ basin.in_delta() }}
    union
    {#- every order a changed item was ever in: an item moved to another order changes
        both totals -#}
    {{ basin.touched(source('operations', 'order_items'), 'order_id', key='order_item_id') }}

),

orders as (

    select * from {{ ref('stg_operations__orders') }}
    {% if is_incremental() %}
    where order_id in (select order_id from touched)
    {% endif %}

),

items as (

    select * from {{ ref('stg_operations__order_items') }}
    {% if is_incremental() %}
    where order_id in (select order_id from touched)
    {% endif %}

),

per_order as (

    select
        order_id,
        count(*) as item_count,
        sum(quantity * unit_price) as order_total

    from items
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.order_status,
        orders.ordered_at,
        coalesce(per_order.item_count, 0) as item_count,
        coalesce(per_order.order_total, 0) as order_total

    from orders
    left join per_order on orders.order_id = per_order.order_id

)

select * from final
