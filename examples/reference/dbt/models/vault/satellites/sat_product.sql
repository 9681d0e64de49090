{{ basin.sat('product') }}
