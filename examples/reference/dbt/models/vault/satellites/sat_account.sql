{{ basin.sat('account') }}
