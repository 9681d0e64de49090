{{ basin.hub('transaction') }}
