-- The vault's current owner of each account (its effectivity satellite's newest row,
-- through the link to the customer's hub) is staging's customer_id. Following a delta,
-- the accounts it changed; `basin check` compares every account.
{% set changed = "account_id in (select account_id from " ~ ref('stg_finance__accounts') ~ " where " ~ basin.in_delta() ~ ")" %}

with

current_owner as (

    select account_hk, customer_account_hk
    from (
        select
            account_hk,
            customer_account_hk,
            row_number() over (partition by account_hk order by load_date desc) as recency
        from {{ ref('eff_customer_account') }}
    ) as ranked
    where recency = 1

),

vault as (

    select account.account_id, customer.customer_id
    from current_owner
    join {{ ref('hub_account') }} as account on account.account_hk = current_owner.account_hk
    join {{ ref('link_customer_account') }} as link
        on link.customer_account_hk = current_owner.customer_account_hk
    join {{ ref('hub_customer') }} as customer on customer.customer_hk = link.customer_hk

),

staged as (

    select account_id, customer_id from {{ ref('stg_finance__accounts') }}
    where customer_id is not null

)

(select * from vault where {{ changed }} except select * from staged where {{ changed }})
union all
(select * from staged where {{ changed }} except select * from vault where {{ changed }})
