{{ basin.link('account_transaction') }}
