with

source as (

    select * from {{ source('operations', 'inventory_snapshots') }}

),

renamed as (

    select
        cast(snapshot_date as date) as snapshot_date,
        cast(product_id as integer) as product_id,
        cast(quantity_on_hand as integer) as quantity_on_hand,
        _basin_batch_id as batch_id,
        row_number() over (
            partition by snapshot_date, product_id order by _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select snapshot_date, product_id, quantity_on_hand, batch_id
    from renamed
    where version_rank = 1

)

select * from final
