"""PostgreSQL as a warehouse: DuckDB-driven COPY loads, dbt-postgres, schema-swap publish."""
