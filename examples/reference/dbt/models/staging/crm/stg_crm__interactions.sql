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
        _basin_batch_id as batch_id

    from source

),

deduplicated as (

    select *
    from renamed
    qualify row_number() over (partition by interaction_id order by batch_id desc) = 1

)

select * from deduplicated
