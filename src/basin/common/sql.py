"""SQL text: quoting identifiers and string literals (DuckDB, PostgreSQL, Snowflake)."""

from __future__ import annotations


def quote_ident(identifier: str) -> str:
    """A SQL identifier in double quotes."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal in single quotes."""
    return "'" + value.replace("'", "''") + "'"
