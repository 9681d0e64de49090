with

source as (

    select * from {{ source('crm', 'interactions') }}

),

renamed as (

    select
        cast(interaction_id as bigint) as interaction_id,
        cast(customer_id as integer) as customer_id,
        channel,
        direction,
        cast(occurred_at as timestamp) as occurred_at,
        cast(duration_minutes as integer) as duration_minutes,
        nullif(notes, '') as notes,
        _basin_batch_id as batch_id,
        _basin_extracted_at as loaded_at,
        row_number() over (partition by interaction_id order by _basin_batch_id desc) as version_rank

    from source

),

final as (

    select
        interaction_id, customer_id, channel, direction, occurred_at, duration_minutes, notes,
        batch_id, loaded_at
    from renamed
    where version_rank = 1

)

select * from final
