"""Configuration shared by the database source kinds (PostgreSQL, SQLite)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from basin.common.types import StrictModel, parse_duration


class CursorEntity(StrictModel):
    """An entity read in full or incrementally by a cursor."""

    mode: Literal["full", "incremental"] | None = None
    """``incremental`` reads rows whose cursor is at or past the watermark minus the
    overlap; ``full`` reads everything each run and replaces the raw table.
    Default: incremental when a cursor is set."""
    cursor: str | None = None
    """Column that grows with every insert/update (``updated_at``, a sequence)."""
    overlap: str | int | None = None
    """How far behind the watermark to re-read, so rows committed late are caught:
    a duration (``"10 minutes"``) for time cursors, a number for integer cursors.
    Rows read twice are removed again before the batch is written."""
    initial: str | None = None
    """Lower bound of the first incremental extract (default: everything)."""
    primary_key: list[str] = Field(default_factory=list)
    """Columns that identify a row; staging deduplicates on them."""
    columns: list[str] | None = None
    """Extract only these columns (default: all)."""
    indexes: list[list[str]] = Field(default_factory=list)
    """PostgreSQL warehouse: indexes on the entity's raw table, each a list of columns
    (``[[customer_id], [status, updated_at]]``), created after a load when missing."""

    @model_validator(mode="after")
    def _check_cursor(self) -> CursorEntity:
        mode = self.mode or ("incremental" if self.cursor else "full")
        object.__setattr__(self, "mode", mode)
        if mode == "incremental" and not self.cursor:
            raise ValueError("cursor: field required when mode is incremental")
        if isinstance(self.overlap, str):
            parse_duration(self.overlap)
        return self

    @property
    def incremental(self) -> bool:
        return self.mode == "incremental"


class TableEntity(CursorEntity):
    """One table or query of a database source."""

    table: str | None = None
    """Table name (``schema.table`` allowed); defaults to the entity's name."""
    query: str | None = None
    """A SELECT to extract instead of a table (the source database's SQL dialect)."""

    @model_validator(mode="after")
    def _one_of_table_or_query(self) -> TableEntity:
        if self.table and self.query:
            raise ValueError("set either table or query, not both")
        return self
