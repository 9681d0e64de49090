with

customers as (

    select * from {{ ref('int_customers_current') }}

),

accounts as (

    select * from {{ ref('int_accounts_balanced') }}

),

as_of as (

    -- The data's own "today": the newest booking, so results do not drift with the clock.
    select max(last_transaction_at) as as_of_at from accounts

),

per_customer as (

    select
        customer_id,
        count(*) as account_count,
        sum(case when account_status <> 'closed' then 1 else 0 end) as open_account_count,
        sum(balance) as total_balance,
        min(first_transaction_at) as first_transaction_at,
        max(last_transaction_at) as last_transaction_at

    from accounts
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.segment,
        customers.risk_rating,
        customers.country_code,
        customers.created_at,
        coalesce(per_customer.account_count, 0) as account_count,
        coalesce(per_customer.open_account_count, 0) as open_account_count,
        coalesce(per_customer.total_balance, 0) as total_balance,
        per_customer.first_transaction_at,
        per_customer.last_transaction_at,
        case
            when customers.created_at >= {{ dbt.dateadd('day', -90, 'as_of.as_of_at') }} then 'new'
            when coalesce(per_customer.open_account_count, 0) = 0 then 'churned'
            when per_customer.last_transaction_at >= {{ dbt.dateadd('day', -90, 'as_of.as_of_at') }} then 'active'
            else 'dormant'
        end as lifecycle_stage

    from customers
    cross join as_of
    left join per_customer on customers.customer_id = per_customer.customer_id

)

select * from final
