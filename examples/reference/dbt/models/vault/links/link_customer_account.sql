{{ basin.link('customer_account') }}
