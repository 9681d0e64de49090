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
        _basin_batch_id as batch_id

    from source

),

deduplicated as (

    select *
    from renamed
    qualify row_number() over (
        partition by customer_id order by updated_at desc, batch_id desc
    ) = 1

)

select * from deduplicated
