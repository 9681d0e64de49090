{{ basin.sat('customer') }}
