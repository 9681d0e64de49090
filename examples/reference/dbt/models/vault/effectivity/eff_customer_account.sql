{{ basin.eff_sat('customer_account') }}
