"""Extract PostgreSQL tables and queries with DuckDB's postgres scanner.

Full extracts of plain tables use the attached catalog (parallel ctid scans, binary
COPY). Incremental extracts, queries and tables with types DuckDB would read
lossily go through ``postgres_query``, so PostgreSQL evaluates the filter (and can use
an index on the cursor) and does the casts:

- ``numeric`` without precision, or with more than 38 digits, would become DOUBLE:
  it is read as text, exactly as PostgreSQL prints it;
- ``money`` is read as numeric(20,2), a DECIMAL (not its text, '$1,234.56');
- ``json``/``jsonb`` arrive as text and are typed JSON in the Parquet file;
- arrays of more than one dimension (PostgreSQL's type says ``int[]`` whatever the
  dimensions, and the scanner reads one) arrive as ``array_to_json`` text and land as
  nested lists (``INTEGER[][]``), or as JSON when rows differ in dimensions. Finding
  out costs one ``array_ndims`` query per extract of a table that has array columns.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg

from basin.common.errors import ExtractError
from basin.common.sql import literal, quote_ident
from basin.sources.base import ExtractContext
from basin.sources.incremental import IncrementalExtractor
from basin.sources.postgres.configuration import PostgresSource
from basin.sources.tables import TableEntity

MAX_DECIMAL_DIGITS = 38


class PostgresExtractor(IncrementalExtractor):
    config: PostgresSource
    EXTENSION = "postgres_scanner"

    def describe(self) -> str:
        return self.config.display()

    def attach(self, con: duckdb.DuckDBPyConnection, ctx: ExtractContext) -> None:
        con.execute(
            f"ATTACH {literal(self.config.conninfo())} AS {quote_ident(self.alias)} "
            "(TYPE postgres, READ_ONLY)"
        )

    def dataset(self, entity: str, project_root: Path) -> tuple[str, str]:
        namespace, database = self.config.lineage_address()
        cfg = self.config.tables[entity]
        if cfg.query:
            return namespace, f"{database}.query.{entity}"
        schema, table = self._qualified(entity, cfg)
        return namespace, f"{database}.{schema}.{table}"

    def _qualified(self, entity: str, cfg: TableEntity) -> tuple[str, str]:
        name = cfg.table or entity
        schema, _, table = name.rpartition(".")
        return schema or self.config.db_schema, table

    def _pg_columns(self, sql: str) -> list[tuple[str, str]]:
        """(name, PostgreSQL type) of a query's result, without running it."""
        try:
            with psycopg.connect(self.config.conninfo(), connect_timeout=10) as conn:
                cur = conn.execute(f"SELECT * FROM ({sql}) AS basin_probe LIMIT 0")
                return [(c.name, c.type_display) for c in cur.description or []]
        except psycopg.Error as exc:
            raise ExtractError(
                f"{self.name}: cannot read the columns of `{sql}` from {self.describe()}: "
                f"{str(exc).strip().splitlines()[0]}",
                hint="check the table/query and the connection settings in basin.yml",
            ) from None

    def relation(
        self,
        con: duckdb.DuckDBPyConnection,
        entity: str,
        cfg: TableEntity,
        where: str | None,
        lower: str | None,
        staging: Path,
    ) -> str:
        if cfg.query:
            base = cfg.query.strip().rstrip(";")
        else:
            schema, table = self._qualified(entity, cfg)
            base = f"SELECT * FROM {quote_ident(schema)}.{quote_ident(table)}"
        columns = self._pg_columns(base)
        if cfg.columns:
            missing = [c for c in cfg.columns if c not in {n for n, _ in columns}]
            if missing:
                raise ExtractError(f"{self.name}.{entity}: columns not found: {', '.join(missing)}")
            columns = [c for c in columns if c[0] in cfg.columns]
        casts = [_pg_select(name, pg_type) for name, pg_type in columns]
        self._json_columns = [n for n, t in columns if t in ("json", "jsonb")]
        self._nested = self._nested_arrays(
            con, base, where, [n for n, t in columns if t.endswith("[]")]
        )
        casts = [
            (f"array_to_json({quote_ident(n)})::text AS {quote_ident(n)}", True)
            if n in self._nested
            else cast
            for (n, _), cast in zip(columns, casts, strict=True)
        ]
        needs_pg = bool(cfg.query or where or cfg.columns or any(c[1] for c in casts))
        if not needs_pg:
            schema, table = self._qualified(entity, cfg)
            return f"{quote_ident(self.alias)}.{quote_ident(schema)}.{quote_ident(table)}"
        select = ", ".join(expr for expr, _ in casts)
        inner = f"SELECT {select} FROM ({base}) AS basin_src"
        if where:
            inner += f" WHERE {where}"
        return f"postgres_query({literal(self.alias)}, {literal(inner)})"

    def casts(self, con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
        casts = super().casts(con, relation)
        for c in getattr(self, "_json_columns", []):
            casts[c] = f"CAST({quote_ident(c)} AS JSON)"
        for c, duck_type in getattr(self, "_nested", {}).items():
            casts[c] = f"CAST(CAST({quote_ident(c)} AS JSON) AS {duck_type})"
        return casts

    def _nested_arrays(
        self, con: duckdb.DuckDBPyConnection, base: str, where: str | None, arrays: list[str]
    ) -> dict[str, str]:
        """Array columns holding more than one dimension → the DuckDB type they land as:
        the element type with one ``[]`` per dimension, or JSON when rows differ."""
        if not arrays:
            return {}
        probes = ", ".join(
            f"min(array_ndims({quote_ident(c)})) AS lo{i}, max(array_ndims({quote_ident(c)})) AS hi{i}"
            for i, c in enumerate(arrays)
        )
        sql = f"SELECT {probes} FROM ({base}) AS basin_src" + (f" WHERE {where}" if where else "")
        got = con.execute(
            f"SELECT * FROM postgres_query({literal(self.alias)}, {literal(sql)})"
        ).fetchone()
        dims = list(got or ())
        nested: dict[str, str] = {}
        for i, column in enumerate(arrays):
            low, high = dims[2 * i], dims[2 * i + 1]
            if high is None or (low == high == 1):
                continue
            if low != high:
                nested[column] = "JSON"
                continue
            one = f"SELECT {quote_ident(column)} FROM ({base}) AS basin_src LIMIT 0"
            [(_, flat, *_)] = con.execute(
                f"DESCRIBE SELECT * FROM postgres_query({literal(self.alias)}, {literal(one)})"
            ).fetchall()
            nested[column] = str(flat) + "[]" * (int(high) - 1)
        return nested


def _pg_select(name: str, pg_type: str) -> tuple[str, bool]:
    """The select expression for a column, and whether it needs PostgreSQL to cast."""
    col = quote_ident(name)
    if pg_type == "money":
        # money's range needs 19 digits, 2 of them decimals (lc_monetary's default).
        return f"{col}::numeric(20,2) AS {col}", True
    if pg_type == "numeric":
        return f"{col}::text AS {col}", True
    if pg_type.startswith("numeric("):
        precision = int(pg_type[len("numeric(") :].split(",")[0].rstrip(")"))
        if precision > MAX_DECIMAL_DIGITS:
            return f"{col}::text AS {col}", True
    return col, False
