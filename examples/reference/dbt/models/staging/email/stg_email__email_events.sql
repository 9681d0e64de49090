{#- Incremental: events are immutable, so each run appends the events of batches newer
    than the last one seen (delete+insert by event_id keeps re-delivered events once). -#}
{{ config(materialized='incremental', unique_key='event_id', incremental_strategy='delete+insert') }}

with

source as (

    select * from {{ source('email', 'email_events') }}
    {% if is_incremental() %}
    where _basin_batch_id > (select max(batch_id) from {{ this }})
    {% endif %}

),

renamed as (

    select
        cast(event_id as bigint) as event_id,
        cast(campaign_id as integer) as campaign_id,
        lower(customer_email) as customer_email,
        event_type,
        cast(occurred_at as timestamp) as occurred_at,
        _basin_batch_id as batch_id,
        _basin_extracted_at as loaded_at,
        row_number() over (partition by event_id order by _basin_batch_id desc) as version_rank

    from source

),

final as (

    select
        event_id, campaign_id, customer_email, event_type, occurred_at, batch_id, loaded_at,
        current_timestamp as transformed_at
    from renamed
    where version_rank = 1

)

select * from final
