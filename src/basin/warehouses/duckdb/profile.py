"""The dbt-duckdb profile output for the pipeline's DuckDB file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from basin.warehouses.duckdb.configuration import DuckDBWarehouse as DuckDBConfig


def dbt_target(cfg: DuckDBConfig, path: Path, schema: str, threads: int) -> dict[str, Any]:
    target: dict[str, Any] = {
        "type": "duckdb",
        "path": str(path),
        "schema": schema,
        "threads": threads,
    }
    settings: dict[str, Any] = {}
    if cfg.memory_limit:
        settings["memory_limit"] = cfg.memory_limit
    if cfg.threads:
        settings["threads"] = cfg.threads
    if settings:
        target["settings"] = settings
    return target
