{{ basin.sat('order') }}
