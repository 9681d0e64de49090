{{ basin.link() }}
