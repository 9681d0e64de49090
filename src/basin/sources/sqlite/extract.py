"""Extract SQLite tables and queries with DuckDB's sqlite scanner."""

from __future__ import annotations

from pathlib import Path

import duckdb

from basin.common.errors import ExtractError
from basin.common.sql import literal, quote_ident
from basin.sources.base import ExtractContext
from basin.sources.incremental import IncrementalExtractor
from basin.sources.sqlite.configuration import SQLiteSource
from basin.sources.tables import TableEntity


class SQLiteExtractor(IncrementalExtractor):
    config: SQLiteSource
    EXTENSION = "sqlite_scanner"

    def describe(self) -> str:
        return f"sqlite:{self.config.path}"

    def dataset(self, entity: str, project_root: Path) -> tuple[str, str]:
        cfg = self.config.tables[entity]
        name = f"query.{entity}" if cfg.query else (cfg.table or entity)
        return f"sqlite://{(project_root / self.config.path).resolve()}", name

    def attach(self, con: duckdb.DuckDBPyConnection, ctx: ExtractContext) -> None:
        path = ctx.project_root / self.config.path
        if not path.is_file():
            raise ExtractError(
                f"{self.name}: SQLite database {path} does not exist",
                hint="check sources.<name>.path in basin.yml",
            )
        con.execute(
            f"ATTACH {literal(str(path))} AS {quote_ident(self.alias)} (TYPE sqlite, READ_ONLY)"
        )

    def use(self, con: duckdb.DuckDBPyConnection) -> None:
        # Queries in basin.yml name the database's tables without a catalog.
        con.execute(f"USE {quote_ident(self.alias)}")

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
            base = f"({cfg.query.strip().rstrip(';')})"
        else:
            base = f"{quote_ident(self.alias)}.{quote_ident(cfg.table or entity)}"
        cols = ", ".join(quote_ident(c) for c in cfg.columns) if cfg.columns else "*"
        sql = f"SELECT {cols} FROM {base} AS basin_src"
        if where:
            sql += f" WHERE {where}"
        return f"({sql})"
