{{ basin.link('customer_order') }}
