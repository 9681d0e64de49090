with

source as (

    select * from {{ source('shop', 'orders') }}

),

renamed as (

    select
        order_id,
        amount,
        status as order_status,
        ordered_at,
        _basin_batch_id as batch_id,
        lower(customer_email) as customer_email,
        row_number() over (
            partition by order_id order by _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select
        order_id,
        customer_email,
        amount,
        order_status,
        ordered_at,
        batch_id

    from renamed
    where version_rank = 1

)

select * from final
