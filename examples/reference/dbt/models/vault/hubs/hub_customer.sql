{{ basin.hub('customer') }}
