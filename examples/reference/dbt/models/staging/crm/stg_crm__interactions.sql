with

source as (

    select * from {{ source('crm', 'interactions') }}

),

renamed as (

    select
        interaction_id,
        customer_id,
        channel,
        cast(occurred_at as timestamp) as occurred_at,
        duration_minutes,
        _basin_batch_id as batch_id,
        row_number() over (
            partition by interaction_id order by _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select
        interaction_id,
        customer_id,
        channel,
        occurred_at,
        duration_minutes,
        batch_id

    from renamed
    where version_rank = 1

)

select * from final
