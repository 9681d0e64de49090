"""Configuration of the embedded DuckDB warehouse."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from basin.common.types import StrictModel

MEMORY = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
"""An amount DuckDB's ``memory_limit`` takes."""
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
    """DuckDB memory limit such as ``3GB`` or ``512MiB``; beyond it DuckDB spills to
    disk. DuckDB's default (80% of the machine's memory) when omitted."""

    @field_validator("memory_limit")
    @classmethod
    def _memory_amount(cls, value: str | None) -> str | None:
        if value is not None and not MEMORY.fullmatch(value.strip()):
            raise ValueError(
                f"memory_limit {value!r} is not an amount of memory: write a number and a "
                "unit, such as 3GB, 2.5GB or 512MiB"
            )
        return value

    @model_validator(mode="after")
    def _not_named_after_schema(self) -> DuckDBWarehouse:
        stem = Path(self.path).stem
        if stem in SCHEMA_NAMES:
            raise ValueError(
                f"DuckDB file '{self.path}' is named after a schema; its catalog name would "
                f"clash with schema '{stem}'. Use a name such as 'warehouse.duckdb'"
            )
        return self
