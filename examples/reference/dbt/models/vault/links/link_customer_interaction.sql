{{ basin.link('customer_interaction') }}
