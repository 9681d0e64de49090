-- The vault's current customers are staging's latest versions, column for column: a
-- change the satellite missed (or recorded twice) shows here as a row on one side.
{% set columns = 'customer_id, first_name, last_name, email, phone, country_code, segment, risk_rating, created_at' %}

(
    select {{ columns }} from {{ ref('int_customers_current') }}
    except
    select {{ columns }} from {{ ref('stg_finance__customers') }}
)
union all
(
    select {{ columns }} from {{ ref('stg_finance__customers') }}
    except
    select {{ columns }} from {{ ref('int_customers_current') }}
)
