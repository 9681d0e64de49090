with

source as (

    select * from {{ source('email', 'campaigns') }}

),

renamed as (

    select
        cast(campaign_id as integer) as campaign_id,
        campaign_name,
        subject,
        cast(sent_at as timestamp) as sent_at,
        cast(updated_at as timestamp) as updated_at,
        _basin_batch_id as batch_id,
        _basin_extracted_at as loaded_at,
        row_number() over (
            partition by campaign_id order by updated_at desc, _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select campaign_id, campaign_name, subject, sent_at, updated_at, batch_id, loaded_at
    from renamed
    where version_rank = 1

)

select * from final
