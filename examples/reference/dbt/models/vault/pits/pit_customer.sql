{{ basin.pit('customer') }}
