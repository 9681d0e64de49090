"""SQL text: quoting identifiers and string literals (DuckDB, PostgreSQL, Snowflake)."""

from __future__ import annotations

RAW_SCHEMA = "raw"
"""Where loaded batches land, unless the warehouse names another (``schemas.raw``)."""
LEDGER_SCHEMA = "_basin"
"""Basin's own tables in the warehouse (load ledger, publications), unless renamed."""


def quote_ident(identifier: str) -> str:
    """A SQL identifier in double quotes."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal in single quotes."""
    return "'" + value.replace("'", "''") + "'"
