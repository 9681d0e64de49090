{{ basin.hub('opportunity') }}
