with

source as (

    select * from {{ source('operations', 'products') }}

),

final as (

    select
        cast(product_id as integer) as product_id,
        sku,
        product_name,
        category,
        cast(unit_price as decimal(10, 2)) as unit_price,
        cast(is_active as integer) = 1 as is_active,
        cast(updated_at as timestamp) as updated_at,
        _basin_batch_id as batch_id,
        _basin_extracted_at as loaded_at

    from source

)

select * from final
