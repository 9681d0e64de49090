"""Configuration of the embedded DuckDB warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from basin.common.types import StrictModel

SCHEMA_NAMES = {"raw", "staging", "intermediate", "vault", "marts", "main", "snapshots"}


class DuckDBWarehouse(StrictModel):
    """The embedded default: a private DuckDB file the pipeline writes."""

    engine: Literal["duckdb"] = "duckdb"
    """Picks this engine (the default)."""
    path: str = "warehouse.duckdb"
    """Pipeline warehouse file, relative to the environment's state folder. Never
    name it after a schema (``marts.duckdb`` clashes with the ``marts`` schema)."""
    threads: int | None = Field(default=None, ge=1)
    """DuckDB threads; all cores when omitted."""
    memory_limit: str | None = None
    """DuckDB memory limit such as ``2GB``; DuckDB's default when omitted."""

    @model_validator(mode="after")
    def _not_named_after_schema(self) -> DuckDBWarehouse:
        stem = Path(self.path).stem
        if stem in SCHEMA_NAMES:
            raise ValueError(
                f"DuckDB file '{self.path}' is named after a schema; its catalog name would "
                f"clash with schema '{stem}'. Use a name such as 'warehouse.duckdb'"
            )
        return self
