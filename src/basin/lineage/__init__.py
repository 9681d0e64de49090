"""Lineage and catalog: OpenLineage events for every step, column lineage of dbt
models (sqlglot), and the datasets and edges kept in the metadata store."""
