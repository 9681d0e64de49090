{{ basin.link('order_product') }}
