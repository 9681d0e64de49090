-- The SCD2 dimension of accounts: one row per version of an account's status, valid
-- from when it was seen until the next (valid_to null: current), from the snapshot
-- snap_accounts.
with

versions as (

    select * from {{ ref('snap_accounts') }}

),

final as (

    select
        account_id,
        account_status,
        dbt_valid_from as valid_from,
        dbt_valid_to as valid_to,
        dbt_valid_to is null as is_current

    from versions

)

select * from final
