{{ basin.link('customer_opportunity') }}
