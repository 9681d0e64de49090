{{ basin.sat() }}
