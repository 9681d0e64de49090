{{ basin.sat('transaction') }}
