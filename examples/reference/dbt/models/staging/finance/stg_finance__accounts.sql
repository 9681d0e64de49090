{#- Incremental like stg_finance__transactions: each run takes the batches newer than
    the last one it saw and replaces the changed rows by key (delete+insert). As a
    view it ranked every version of every row on each of its ~10 reads a build
    (vault, snapshot, intermediate models, tests). -#}
{{ config(materialized='incremental', unique_key='account_id', incremental_strategy='delete+insert') }}

with

source as (

    select * from {{ source('finance', 'accounts') }}
    {% if is_incremental() %}
    where _basin_batch_id > (select max(batch_id) from {{ this }})
    {% endif %}

),

renamed as (

    select
        cast(account_id as integer) as account_id,
        cast(customer_id as integer) as customer_id,
        account_type,
        currency,
        status as account_status,
        cast(opened_at as timestamp) as opened_at,
        cast(closed_at as timestamp) as closed_at,
        cast(updated_at as timestamp) as updated_at,
        _basin_batch_id as batch_id,
        _basin_extracted_at as loaded_at,
        row_number() over (
            partition by account_id order by updated_at desc, _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select
        account_id, customer_id, account_type, currency, account_status, opened_at, closed_at,
        updated_at, batch_id, loaded_at
    from renamed
    where version_rank = 1

)

select * from final
