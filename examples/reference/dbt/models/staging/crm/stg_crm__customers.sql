with

source as (

    select * from {{ source('crm', 'customers') }}

),

renamed as (

    select
        customer_id,
        full_name,
        lower(email) as email,
        upper(country_code) as country_code,
        segment,
        signed_up_at,
        updated_at,
        _basin_batch_id as batch_id,
        row_number() over (
            partition by customer_id order by updated_at desc, _basin_batch_id desc
        ) as version_rank

    from source

),

final as (

    select
        customer_id,
        full_name,
        email,
        country_code,
        segment,
        signed_up_at,
        updated_at,
        batch_id

    from renamed
    where version_rank = 1

)

select * from final
