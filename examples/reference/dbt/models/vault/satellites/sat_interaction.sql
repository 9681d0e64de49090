{{ basin.sat('interaction') }}
