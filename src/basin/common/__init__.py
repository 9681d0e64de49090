"""The floor of Basin: errors, types, SQL quoting, redaction, fault points and small
process and DuckDB helpers. Imports nothing from the rest of basin."""
