{#- Incremental like stg_finance__transactions: each run takes the batches newer than
    the last one it saw and replaces the changed rows by key (delete+insert), so the
    models reading it no longer rank every version of every row on each run. -#}
{{ config(materialized='incremental', unique_key='order_item_id', incremental_strategy='delete+insert') }}

with

source as (

    select * from {{ source('operations', 'order_items') }}
    {% if is_incremental() %}
    where _basin_batch_id > (select max(batch_id) from {{ this }})
    {% endif %}

),

renamed as (

    select
        cast(order_item_id as integer) as order_item_id,
        cast(order_id as integer) as order_id,
        cast(product_id as integer) as product_id,
        cast(quantity as integer) as quantity,
        cast(unit_price as decimal(10, 2)) as unit_price,
        cast(updated_at as timestamp) as updated_at,
        _basin_batch_id as batch_id,
        _basin_extracted_at as loaded_at,
        row_number() over (
            partition by order_item_id order by updated_at desc, _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select order_item_id, order_id, product_id, quantity, unit_price, updated_at, batch_id, loaded_at
    from renamed
    where version_rank = 1

)

select * from final
