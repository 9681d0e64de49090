with

accounts as (

    select * from {{ ref('int_accounts_balanced') }}

),

as_of as (

    select max(last_transaction_at) as as_of_at from accounts

),

status_changes as (

    -- How often the account's status changed, from the SCD2 history (the snapshot).
    {{ basin.history_changes(ref('int_account_history'), 'account_id', 'account_status') }}

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
        coalesce(status_changes.changes, 0) as status_changes,
        accounts.account_status = 'active'
            and (
                accounts.last_transaction_at is null
                or accounts.last_transaction_at < {{ dbt.dateadd('day', -180, 'as_of.as_of_at') }}
            ) as is_dormant

    from accounts
    cross join as_of
    left join status_changes on status_changes.account_id = accounts.account_id

)

select * from final
