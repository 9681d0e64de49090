from basin.cli.main import main

main()
