with

accounts as (

    select * from {{ ref('stg_finance__accounts') }}

),

transactions as (

    select * from {{ ref('stg_finance__transactions') }}
    where transaction_status = 'booked'

),

per_account as (

    select
        account_id,
        count(*) as transaction_count,
        sum(case when direction = 'credit' then amount else -amount end) as balance,
        min(booked_at) as first_transaction_at,
        max(booked_at) as last_transaction_at

    from transactions
    group by account_id

),

final as (

    select
        accounts.account_id,
        accounts.customer_id,
        accounts.account_type,
        accounts.currency,
        accounts.account_status,
        accounts.opened_at,
        coalesce(per_account.transaction_count, 0) as transaction_count,
        coalesce(per_account.balance, 0) as balance,
        per_account.first_transaction_at,
        per_account.last_transaction_at

    from accounts
    left join per_account on accounts.account_id = per_account.account_id

)

select * from final
