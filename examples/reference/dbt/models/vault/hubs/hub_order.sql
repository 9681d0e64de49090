{{ basin.hub() }}
