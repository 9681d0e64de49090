{#- Incremental by account: a build that follows a delta recomputes only the accounts
    the new batches touched (a changed account row, or an account any of the day's
    transactions is or was on), each from all its transactions, and replaces them
    (delete+insert: DuckDB's MERGE was measured unreliable, see bench/README). The
    first build, or one after the project changed, computes every account. -#}
{{ config(materialized='incremental', unique_key='account_id', incremental_strategy='delete+insert') }}

with

touched as (

    select account_id from {{ ref('stg_finance__accounts') }} where {{ basin.in_delta() }}
    union
    {#- every account a changed transaction was ever on: one corrected to another
        account changes both balances -#}
    {{ basin.touched(source('finance', 'transactions'), 'account_id', key='transaction_id') }}

),

accounts as (

    select * from {{ ref('stg_finance__accounts') }}
    {% if is_incremental() %}
    where account_id in (select account_id from touched)
    {% endif %}

),

transactions as (

    select * from {{ ref('stg_finance__transactions') }}
    where transaction_status = 'booked'
    {% if is_incremental() %}
        and account_id in (select account_id from touched)
    {% endif %}

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
