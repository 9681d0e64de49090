{#- Incremental like stg_finance__transactions: each run takes the batches newer than
    the last one it saw and replaces the changed rows by key (delete+insert), so the
    models reading it no longer rank every version of every row on each run. -#}
{{ config(materialized='incremental', unique_key='order_id', incremental_strategy='delete+insert') }}

with

source as (

    select * from {{ source('operations', 'orders') }}
    {% if is_incremental() %}
    where _basin_batch_id > (select max(batch_id) from {{ this }})
    {% endif %}

),

renamed as (

    select
        cast(order_id as integer) as order_id,
        cast(customer_id as integer) as customer_id,
        order_status,
        cast(ordered_at as timestamp) as ordered_at,
        cast(updated_at as timestamp) as updated_at,
        _basin_batch_id as batch_id,
        _basin_extracted_at as loaded_at,
        row_number() over (
            partition by order_id order by updated_at desc, _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select order_id, customer_id, order_status, ordered_at, updated_at, batch_id, loaded_at
    from renamed
    where version_rank = 1

)

select * from final
