{#- Incremental like stg_finance__transactions: each run takes the batches newer than
    the last one it saw and replaces the changed rows by key (delete+insert). As a
    view it ranked every version of every row on each of its ~10 reads a build
    (vault, snapshot, intermediate models, tests). -#}
{{ config(materialized='incremental', unique_key='customer_id', incremental_strategy='delete+insert') }}

with

source as (

    select * from {{ source('finance', 'customers') }}
    {% if is_incremental() %}
    where _basin_batch_id > (select max(batch_id) from {{ this }})
    {% endif %}

),

renamed as (

    select
        cast(customer_id as integer) as customer_id,
        first_name,
        last_name,
        lower(email) as email,
        phone,
        upper(country_code) as country_code,
        segment,
        risk_rating,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at,
        _basin_batch_id as batch_id,
        _basin_extracted_at as loaded_at,
        row_number() over (
            partition by customer_id order by updated_at desc, _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select
        customer_id, first_name, last_name, email, phone, country_code, segment, risk_rating,
        created_at, updated_at, batch_id, loaded_at
    from renamed
    where version_rank = 1

)

select * from final
