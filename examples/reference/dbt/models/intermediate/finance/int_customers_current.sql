-- Each customer as they are now, read from the Data Vault: the hub's business key,
-- the point-in-time table's current row, and the satellite row it points at. The
-- test assert_customers_current_match_staging holds it equal to staging's latest
-- version of every customer.
with

hub as (

    select customer_hk, customer_id from {{ ref('hub_customer') }}

),

pit as (

    select customer_hk, sat_customer_load_date from {{ ref('pit_customer') }}
    where is_current

),

sat as (

    select * from {{ ref('sat_customer') }}

),

final as (

    select
        hub.customer_id,
        sat.first_name,
        sat.last_name,
        sat.email,
        sat.phone,
        sat.country_code,
        sat.segment,
        sat.risk_rating,
        sat.created_at

    from hub
    join pit on pit.customer_hk = hub.customer_hk
    join sat
        on sat.customer_hk = pit.customer_hk
        and sat.load_date = pit.sat_customer_load_date

)

select * from final
