with

source as (

    select * from {{ source('crm', 'opportunities') }}

),

renamed as (

    select
        cast(opportunity_id as integer) as opportunity_id,
        cast(customer_id as integer) as customer_id,
        stage,
        cast(amount as decimal(14, 2)) as amount,
        currency,
        owner as owner_name,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at,
        _basin_batch_id as batch_id,
        _basin_extracted_at as loaded_at,
        row_number() over (
            partition by opportunity_id order by updated_at desc, _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select
        opportunity_id, customer_id, stage, amount, currency, owner_name, created_at, updated_at,
        batch_id, loaded_at
    from renamed
    where version_rank = 1

)

select * from final
