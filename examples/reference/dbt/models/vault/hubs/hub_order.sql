{{ basin.hub('order') }}
