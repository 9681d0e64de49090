{{ basin.sat('opportunity') }}
