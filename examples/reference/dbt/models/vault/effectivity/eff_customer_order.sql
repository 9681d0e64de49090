{{ basin.eff_sat('customer_order') }}
