{{ basin.hub('interaction') }}
