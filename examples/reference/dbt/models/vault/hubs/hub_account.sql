{{ basin.hub('account') }}
