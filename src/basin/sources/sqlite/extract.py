"""Extract SQLite tables and queries with DuckDB's sqlite scanner; an incremental read
of a table has SQLite apply the cursor filter (``pushdown.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from basin.common.errors import ExtractError
from basin.common.logging import get_logger
from basin.common.sql import literal, quote_ident
from basin.sources.base import ExtractContext
from basin.sources.incremental import IncrementalExtractor
from basin.sources.sqlite import pushdown
from basin.sources.sqlite.configuration import SQLiteSource
from basin.sources.tables import TableEntity

log = get_logger(__name__)


class SQLiteExtractor(IncrementalExtractor):
    config: SQLiteSource
    EXTENSION = "sqlite_scanner"

    def __init__(self, name: str, config: SQLiteSource) -> None:
        super().__init__(name, config)
        self._pushed: set[str] = set()
        """Entities whose read in progress has SQLite apply the cursor filter."""
        self._scanned: set[str] = set()
        """Entities read through the scanner: a value met the pushdown's limits."""

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
        if where and lower and cfg.cursor and not cfg.query and entity not in self._scanned:
            table = cfg.table or entity
            described = con.execute(f"DESCRIBE SELECT {cols} FROM {base}").fetchall()
            declared = con.execute(
                "SELECT type FROM sqlite_query(?, ?)",
                [
                    self.alias,
                    f"SELECT type FROM pragma_table_info({literal(table)}) WHERE name = {literal(cfg.cursor)}",
                ],
            ).fetchone()
            pushed = pushdown.pushed_relation(
                self.alias,
                table,
                [(str(r[0]), str(r[1])) for r in described],
                cfg.cursor,
                lower,
                text_affinity=pushdown.has_text_affinity(str(declared[0] if declared else "")),
            )
            if pushed is not None:
                self._pushed.add(entity)
                base = pushed
        sql = f"SELECT {cols} FROM {base} AS basin_src"
        if where:
            sql += f" WHERE {where}"
        return f"({sql})"

    def _copy(
        self, con: duckdb.DuckDBPyConnection, ctx: ExtractContext, entity: str, *args: Any
    ) -> tuple[int, Any]:
        self._pushed.discard(entity)
        try:
            return super()._copy(con, ctx, entity, *args)
        except duckdb.Error as exc:
            if entity not in self._pushed:
                raise
            # What SQLite filtered could not be converted exactly: the scanner reads it.
            log.info(
                "%s.%s: read through the scanner (%s)",
                self.name,
                entity,
                str(exc).strip().splitlines()[0],
            )
            self._scanned.add(entity)
            for table in ("basin_new", "basin_delta"):
                con.execute(f"DROP TABLE IF EXISTS {table}")
            return super()._copy(con, ctx, entity, *args)
