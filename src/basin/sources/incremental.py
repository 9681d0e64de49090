"""Cursor-based extraction shared by the postgres, sqlite and rest source kinds.

A subclass turns an entity into a DuckDB relation (a scanner over an attached
database, or the JSON pages an API returned); this module writes it as one batch:
``COPY (SELECT …) TO 'part.parquet'``. Measured here (../shared/BENCHMARKS.md):
DuckDB's scanner writing Parquet runs at about the speed of a binary COPY with flat
memory, 6–10× faster than dlt's pyarrow backend.

Incremental entities read ``cursor >= watermark - overlap``. Rows in the overlap
that an earlier batch already holds unchanged are dropped again before the batch is
written (``EXCEPT ALL`` against those batches), so a run with nothing new writes
nothing, while a row committed late with an older cursor value is still caught.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from basin.common.errors import ExtractError, SourceUnavailable, unreachable
from basin.common.sql import literal, quote_ident
from basin.common.types import parse_duration
from basin.lake import PARQUET_COPY_OPTIONS
from basin.sources.base import BatchWriter, ExtractContext, Extractor, ExtractResult
from basin.sources.tables import CursorEntity


@dataclass(frozen=True)
class Watermark:
    """The highest cursor value extracted so far, with its kind."""

    kind: str  # timestamp | date | integer | string
    value: str

    def to_json(self) -> str:
        return json.dumps({"type": self.kind, "value": self.value})

    @classmethod
    def from_json(cls, text: str | None) -> Watermark | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(data["type"], data["value"])

    @classmethod
    def of(cls, value: Any) -> Watermark:
        if isinstance(value, datetime):
            return cls("timestamp", value.isoformat())
        if isinstance(value, date):
            return cls("date", value.isoformat())
        if isinstance(value, int):
            return cls("integer", str(value))
        return cls("string", str(value))

    def python(self) -> Any:
        if self.kind == "timestamp":
            return datetime.fromisoformat(self.value)
        if self.kind == "date":
            return date.fromisoformat(self.value)
        if self.kind == "integer":
            return int(self.value)
        return self.value

    def minus(self, overlap: str | int | None) -> str:
        """The lower bound ``watermark - overlap`` as a SQL literal's text."""
        if overlap is None or overlap == 0:
            return self.value
        value = self.python()
        if self.kind == "integer":
            if not isinstance(overlap, int):
                raise ExtractError(f"overlap '{overlap}' must be a number for the integer cursor")
            return str(value - overlap)
        delta = parse_duration(overlap) if isinstance(overlap, str) else timedelta(seconds=overlap)
        if self.kind in ("timestamp", "date"):
            return (value - delta).isoformat()
        try:  # text cursors holding ISO timestamps (SQLite)
            parsed = datetime.fromisoformat(self.value)
        except ValueError:
            raise ExtractError(
                f"cannot subtract overlap '{overlap}' from the text cursor value '{self.value}'"
            ) from None
        sep = "T" if "T" in self.value else " "
        return (parsed - delta).isoformat(sep=sep)


def newer(a: Watermark | None, b: Watermark | None) -> Watermark | None:
    if a is None or b is None:
        return a or b
    try:
        return a if a.python() >= b.python() else b
    except TypeError:
        return a if a.value >= b.value else b


class IncrementalExtractor(Extractor):
    """Template for cursor-based sources: subclasses say how to reach the rows."""

    def entity_config(self, entity: str) -> CursorEntity:
        return self.config.tables[entity]

    EXTENSION: str | None = None
    """The DuckDB scanner extension the source is read with, if any."""

    @property
    def alias(self) -> str:
        """The source's catalog name in the step's DuckDB instance."""
        return f"src_{self.name}"

    def attach(self, con: duckdb.DuckDBPyConnection, ctx: ExtractContext) -> None:  # noqa: B027
        """``ATTACH`` the source as :attr:`alias` (once per extract step), if it is a database."""

    def use(self, con: duckdb.DuckDBPyConnection) -> None:  # noqa: B027 - optional hook
        """Prepare an entity's cursor (e.g. ``USE`` the attached source)."""

    @abstractmethod
    def relation(
        self,
        con: duckdb.DuckDBPyConnection,
        entity: str,
        cfg: Any,
        where: str | None,
        lower: str | None,
        staging: Path,
    ) -> str:
        """A DuckDB relation (in parentheses, a table or a table function) of the rows
        to extract; ``where`` filters on the cursor, ``lower`` is its bound."""

    def describe(self) -> str:
        return self.name

    def extract(self, entity: str, ctx: ExtractContext) -> ExtractResult:
        cfg = self.entity_config(entity)
        previous = Watermark.from_json(ctx.store.watermark(self.name, entity))
        since = ctx.options.get("since")
        refresh = bool(ctx.options.get("full_refresh"))
        lower = _lower_bound(cfg, previous, since=since, refresh=refresh)
        where = (
            f"{quote_ident(cfg.cursor)} >= {literal(lower)}"
            if cfg.incremental and lower and cfg.cursor
            else None
        )
        inputs = [
            {"source": self.describe(), "entity": entity, "mode": cfg.mode, "lower_bound": lower}
        ]

        with BatchWriter(ctx, self.name, entity, inputs) as batch:
            con = None
            try:
                con = ctx.engine.cursor(self.alias, lambda c: self.attach(c, ctx))
                self.use(con)
                part = batch.staging / "part-00000.parquet"
                rows, top = self._copy(
                    con, ctx, entity, cfg, where, lower, part, previous, refresh, since, batch
                )
                if rows == 0 and cfg.incremental:
                    batch.discard()
                    return ExtractResult(self.name, entity, None, note="no new rows")
                # A full extraction is the source's state: empty replaces raw with empty.
                columns = [
                    {"name": r[0], "type": r[1]}
                    for r in con.execute(
                        f"DESCRIBE SELECT * FROM read_parquet({literal(str(part))})"
                    ).fetchall()
                ]
            except duckdb.Error as exc:
                raise self._read_failed(entity, exc) from None
            finally:
                if con is not None:
                    con.close()
            mark = newer(
                previous if not refresh else None, Watermark.of(top) if top is not None else None
            )
            manifest = batch.commit(
                local_files=[(part, rows)],
                columns=columns,
                watermark={"value": mark.to_json(), "cursor": cfg.cursor, "lower_bound": lower}
                if mark is not None
                else None,
                load_mode="append" if cfg.incremental else "replace",
            )
        return ExtractResult(
            self.name, entity, batch.batch_id, rows=rows, inputs=1, manifest=manifest
        )

    def _copy(
        self,
        con: duckdb.DuckDBPyConnection,
        ctx: ExtractContext,
        entity: str,
        cfg: Any,
        where: str | None,
        lower: str | None,
        part: Path,
        previous: Watermark | None,
        refresh: bool,
        since: Any,
        batch: BatchWriter,
    ) -> tuple[int, Any]:
        relation = self.relation(con, entity, cfg, where, lower, batch.staging)
        select = self.select_list(con, relation)
        lineage = f"{literal(batch.batch_id)} AS _basin_batch_id, current_timestamp AS _basin_extracted_at"
        cursor = quote_ident(cfg.cursor) if cfg.cursor else None
        overlap_rows = (
            self._previous_rows(ctx, entity, cfg, lower)
            if previous and not refresh and not since
            else None
        )
        if overlap_rows is None:
            source_sql = f"SELECT {select} FROM {relation}"
        else:
            # Drop rows an earlier batch already holds unchanged (re-read by the overlap).
            # The window goes through Parquet first, as the earlier batches did: values
            # are compared as stored (a timetz with a +02 offset comes back as UTC, and
            # would otherwise never equal itself and be appended again every run).
            window = batch.staging / "window.parquet"
            con.execute(
                f"COPY (SELECT {select} FROM {relation}) TO {literal(str(window))} "
                f"({PARQUET_COPY_OPTIONS})"
            )
            con.execute(
                f"CREATE TEMP TABLE basin_new AS SELECT * FROM read_parquet({literal(str(window))})"
            )
            names = ", ".join(
                quote_ident(r[0]) for r in con.execute("DESCRIBE basin_new").fetchall()
            )
            try:
                con.execute(
                    f"CREATE TEMP TABLE basin_delta AS SELECT {names} FROM basin_new "
                    f"EXCEPT ALL SELECT {names} FROM {overlap_rows} WHERE {cursor} >= {literal(lower or '')}"
                )
            except duckdb.Error:
                # Earlier batches have another shape (a column was added): keep all rows;
                # staging deduplicates by primary key anyway.
                con.execute("CREATE TEMP TABLE basin_delta AS SELECT * FROM basin_new")
            source_sql = "SELECT * FROM basin_delta"
        result = con.execute(
            f"COPY (SELECT *, {lineage} FROM ({source_sql})) TO {literal(str(part))} "
            f"({PARQUET_COPY_OPTIONS})"
        ).fetchone()
        rows = int(result[0]) if result else 0
        top = None
        if rows and cursor:
            got = con.execute(
                f"SELECT max({cursor}) FROM read_parquet({literal(str(part))})"
            ).fetchone()
            top = got[0] if got else None
        return rows, top

    def _read_failed(self, entity: str, exc: duckdb.Error) -> ExtractError | SourceUnavailable:
        """The error for a failed read: transient when the source cannot be reached."""
        message = f"{self.name}.{entity}: reading from {self.describe()} failed: {str(exc).strip()}"
        if unreachable(exc):
            return SourceUnavailable(
                message, hint="check that the source is up and reachable from here"
            )
        return ExtractError(
            message,
            hint="check the source's connection settings and the table/query in basin.yml",
        )

    def select_list(self, con: duckdb.DuckDBPyConnection, relation: str) -> str:
        """Columns to select from the relation, cast where Parquet would lose them."""
        casts = self.casts(con, relation)
        if not casts:
            return "*"
        return (
            "* REPLACE ("
            + ", ".join(f"{expr} AS {quote_ident(name)}" for name, expr in casts.items())
            + ")"
        )

    def casts(self, con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
        """Column → expression for types Parquet cannot hold as they are: an INTERVAL
        (Parquet's has no sign and only milliseconds) and a TIME WITH TIME ZONE (stored
        normalised to UTC, its offset lost) land as DuckDB's text for them, which casts
        back losslessly (``::INTERVAL``, ``::TIMETZ`` in DuckDB and PostgreSQL)."""
        lossy = ("INTERVAL", "TIME WITH TIME ZONE")
        return {
            name: f"CAST({quote_ident(name)} AS VARCHAR)"
            for name, dtype, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
            if dtype in lossy
        }

    def _previous_rows(
        self, ctx: ExtractContext, entity: str, cfg: CursorEntity, lower: str | None
    ) -> str | None:
        """A relation over earlier batches that may hold rows of the overlap window."""
        if lower is None:
            return None
        files: list[str] = []
        for manifest in ctx.lake.complete_batches(self.name, entity)[-20:]:
            mark = Watermark.from_json((manifest.watermark or {}).get("value"))
            if mark is None:
                continue
            try:
                if mark.python() < Watermark(mark.kind, lower).python():
                    continue
            except (TypeError, ValueError):
                pass
            files += ctx.lake.data_files(manifest)
        if not files:
            return None
        listed = "[" + ", ".join(literal(f) for f in files) + "]"
        return f"read_parquet({listed}, union_by_name = true, hive_partitioning = false)"


def _lower_bound(
    cfg: CursorEntity, previous: Watermark | None, *, since: Any, refresh: bool
) -> str | None:
    """Where an incremental read starts: ``--since``, else the watermark less the
    overlap window, else the entity's ``initial`` (none for a full extraction)."""
    if not cfg.incremental:
        return None
    if since:
        return str(since)
    if previous is not None and not refresh:
        return previous.minus(cfg.overlap)
    return cfg.initial
