with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

interactions as (

    select * from {{ ref('stg_crm__interactions') }}

),

interactions_per_customer as (

    select
        customer_id,
        count(*) as interaction_count,
        sum(duration_minutes) as interaction_minutes,
        min(occurred_at) as first_interaction_at,
        max(occurred_at) as last_interaction_at

    from interactions
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.full_name,
        customers.email,
        customers.country_code,
        customers.segment,
        customers.signed_up_at,
        coalesce(interactions_per_customer.interaction_count, 0) as interaction_count,
        coalesce(interactions_per_customer.interaction_minutes, 0) as interaction_minutes,
        interactions_per_customer.first_interaction_at,
        interactions_per_customer.last_interaction_at,
        case
            when coalesce(interactions_per_customer.interaction_count, 0) >= 5 then 'high'
            when coalesce(interactions_per_customer.interaction_count, 0) >= 2 then 'medium'
            else 'low'
        end as engagement_level

    from customers
    left join interactions_per_customer
        on customers.customer_id = interactions_per_customer.customer_id

)

select * from final
