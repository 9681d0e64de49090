with

accounts as (

    select * from {{ ref('int_accounts_balanced') }}

),

as_of as (

    select max(last_transaction_at) as as_of_at from accounts

),

final as (

    select
        accounts.account_id,
        accounts.customer_id,
        accounts.account_type,
        accounts.currency,
        accounts.account_status,
        accounts.transaction_count,
        accounts.balance,
        accounts.last_transaction_at,
        accounts.account_status = 'active'
            and (
                accounts.last_transaction_at is null
                or accounts.last_transaction_at < {{ dbt.dateadd('day', -180, 'as_of.as_of_at') }}
            ) as is_dormant

    from accounts
    cross join as_of

)

select * from final
