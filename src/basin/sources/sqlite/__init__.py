"""SQLite databases (the embedded default's stand-in for an operational database)."""
