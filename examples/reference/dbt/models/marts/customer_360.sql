with

customers as (

    select * from {{ ref('int_customers_current') }}

),

summary as (

    select * from {{ ref('customer_summary') }}

),

orders as (

    select
        customer_id,
        count(*) as order_count,
        sum(case when order_status <> 'cancelled' then order_total else 0 end) as lifetime_order_value
    from {{ ref('int_orders_totaled') }}
    group by customer_id

),

products as (

    -- Distinct products in the customer's orders, through the vault's bridge
    -- (customer → order → product). Links keep every pair that ever existed (an order
    -- moved to another customer, an item to another order): the chains kept are those
    -- whose links hold now, by the effectivity satellites.
    select hub.customer_id, count(distinct bridge.product_hk) as products_bought
    from {{ ref('bridge_customer_order_product') }} as bridge
    join {{ ref('hub_customer') }} as hub on hub.customer_hk = bridge.customer_hk
    where bridge.customer_order_hk in (
            {{ basin.current_links(ref('eff_customer_order'), 'customer_order') }}
        )
        and bridge.order_product_hk in (
            {{ basin.current_links(ref('eff_order_product'), 'order_product') }}
        )
    group by hub.customer_id

),

rerated as (

    -- How often the customer's segment changed, from the SCD2 history (the snapshot).
    {{ basin.history_changes(ref('int_customer_history'), 'customer_id', 'segment') }}

),

interactions as (

    select customer_id, count(*) as interaction_count, max(occurred_at) as last_interaction_at
    from {{ ref('stg_crm__interactions') }}
    group by customer_id

),

pipeline as (

    select
        customer_id,
        sum(case when stage in ('prospect', 'qualified', 'proposal') then amount else 0 end) as open_pipeline_amount,
        sum(case when stage = 'won' then 1 else 0 end) as won_opportunity_count
    from {{ ref('stg_crm__opportunities') }}
    group by customer_id

),

email as (

    select * from {{ ref('int_email_engagement_by_customer') }}

),

scored as (

    select
        customers.customer_id,
        customers.first_name,
        customers.last_name,
        customers.email,
        customers.segment,
        coalesce(rerated.changes, 0) as segment_changes,
        summary.lifecycle_stage,
        summary.total_balance,
        coalesce(orders.order_count, 0) as order_count,
        coalesce(orders.lifetime_order_value, 0) as lifetime_order_value,
        coalesce(products.products_bought, 0) as products_bought,
        coalesce(interactions.interaction_count, 0) as interaction_count,
        interactions.last_interaction_at,
        coalesce(pipeline.open_pipeline_amount, 0) as open_pipeline_amount,
        coalesce(pipeline.won_opportunity_count, 0) as won_opportunity_count,
        coalesce(email.emails_opened, 0) as emails_opened,
        coalesce(email.emails_clicked, 0) as emails_clicked,
        coalesce(email.unsubscribes, 0) > 0 as has_unsubscribed,
        -- One point per interaction, two per click, one per open, three per order (capped).
        least(coalesce(interactions.interaction_count, 0), 10)
            + least(2 * coalesce(email.emails_clicked, 0), 10)
            + least(coalesce(email.emails_opened, 0), 10)
            + least(3 * coalesce(orders.order_count, 0), 15) as engagement_score

    from customers
    left join summary on customers.customer_id = summary.customer_id
    left join orders on customers.customer_id = orders.customer_id
    left join products on customers.customer_id = products.customer_id
    left join rerated on customers.customer_id = rerated.customer_id
    left join interactions on customers.customer_id = interactions.customer_id
    left join pipeline on customers.customer_id = pipeline.customer_id
    left join email on customers.email = email.customer_email

),

final as (

    select
        scored.*,
        case
            when engagement_score >= 25 then 'high'
            when engagement_score >= 10 then 'medium'
            else 'low'
        end as engagement_level,
        case
            when lifecycle_stage in ('churned', 'dormant') and engagement_score < 10 then 'high'
            when lifecycle_stage in ('churned', 'dormant') or has_unsubscribed or engagement_score < 10 then 'medium'
            else 'low'
        end as churn_risk_band

    from scored

)

select * from final
