{{ basin.eff_sat('order_product') }}
