-- The SCD2 dimension of customers: one row per version, valid from when it was seen
-- until the next (valid_to null: current), from the snapshot snap_customers.
with

versions as (

    select * from {{ ref('snap_customers') }}

),

final as (

    select
        customer_id,
        segment,
        risk_rating,
        dbt_valid_from as valid_from,
        dbt_valid_to as valid_to,
        dbt_valid_to is null as is_current

    from versions

)

select * from final
