with

source as (

    select * from {{ source('shop', 'orders') }}

),

renamed as (

    select
        order_id,
        lower(customer_email) as customer_email,
        amount,
        status as order_status,
        ordered_at,
        _basin_batch_id as batch_id

    from source

),

deduplicated as (

    select *
    from renamed
    qualify row_number() over (partition by order_id order by batch_id desc) = 1

)

select * from deduplicated
