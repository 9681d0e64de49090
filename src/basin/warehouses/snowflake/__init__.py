"""Snowflake: external-stage COPY INTO loads, dbt-snowflake, ALTER SCHEMA … SWAP WITH publish.

What has been run against a real Snowflake account: nothing (none is reachable
from where Basin is built). The generated SQL is checked by parsing it with sqlglot's
Snowflake dialect and comparing it with expected statements, and the dbt project is
compiled with a generated dbt-snowflake profile; see docs/warehouses.md.
"""
