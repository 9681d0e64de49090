{{ basin.bridge('customer_order_product') }}
