{{ basin.hub('product') }}
