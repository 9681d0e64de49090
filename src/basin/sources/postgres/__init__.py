"""PostgreSQL tables and queries, read with DuckDB's postgres scanner."""
