-- The vault's current customers are staging's latest versions, column for column: a
-- change the satellite missed (or recorded twice) shows here as a row on one side.
-- Following a delta, the customers it changed (the others were compared when they
-- changed); `basin check` compares every customer.
{% set columns = 'customer_id, first_name, last_name, email, phone, country_code, segment, risk_rating, created_at' %}
{% set changed = "customer_id in (select customer_id from " ~ ref('stg_finance__customers') ~ " where " ~ basin.in_delta() ~ ")" %}

(
    select {{ columns }} from {{ ref('int_customers_current') }} where {{ changed }}
    except
    select {{ columns }} from {{ ref('stg_finance__customers') }} where {{ changed }}
)
union all
(
    select {{ columns }} from {{ ref('stg_finance__customers') }} where {{ changed }}
    except
    select {{ columns }} from {{ ref('int_customers_current') }} where {{ changed }}
)
