-- The vault's current owner of each account (its effectivity satellite's newest row,
-- through the link to the customer's hub) is staging's customer_id. Following a delta,
-- the accounts it changed; `basin check` compares every account. The changed accounts'
-- hash keys are found first, so only their effectivity rows are ranked (not the
-- whole satellite).

with

changed_ids as (

    select account_id from {{ ref('stg_finance__accounts') }} where {{ basin.in_delta() }}

),

changed as (

    select account_hk, account_id from {{ ref('hub_account') }}
    where account_id in (select account_id from changed_ids)

),

current_owner as (

    select account_hk, customer_account_hk
    from (
        select
            account_hk,
            customer_account_hk,
            row_number() over (partition by account_hk order by load_date desc) as recency
        from {{ ref('eff_customer_account') }}
        where account_hk in (select account_hk from changed)
    ) as ranked
    where recency = 1

),

vault as (

    select changed.account_id, customer.customer_id
    from current_owner
    join changed on changed.account_hk = current_owner.account_hk
    join {{ ref('link_customer_account') }} as link
        on link.customer_account_hk = current_owner.customer_account_hk
    join {{ ref('hub_customer') }} as customer on customer.customer_hk = link.customer_hk

),

staged as (

    select account_id, customer_id from {{ ref('stg_finance__accounts') }}
    where customer_id is not null
        and account_id in (select account_id from changed_ids)

)

(select * from vault except select * from staged)
union all
(select * from staged except select * from vault)
