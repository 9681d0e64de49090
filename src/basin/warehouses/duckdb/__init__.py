"""The embedded default warehouse: DuckDB, pinned to 1.5.5."""
