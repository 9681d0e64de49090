"""Helpers for the tests that try to break Basin's promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

BASIN = [sys.executable, "-m", "basin"]

REVENUE = (
    "select order_date::varchar, order_count, paid_revenue::double from marts.daily_revenue "
    "order by 1"
)
FIRST_REVENUE = [("2026-01-03", 2, 155.5), ("2026-01-04", 2, 250.0), ("2026-01-05", 1, 0.0)]
HEADER = "order_id,customer_email,amount,status,ordered_at\n"


def published(project: Path, sql: str = REVENUE, env: str = "dev") -> list[tuple]:
    path = project / ".basin" / env / "published" / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def warehouse(project: Path, sql: str, env: str = "dev") -> list[tuple]:
    with duckdb.connect(str(project / ".basin" / env / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def drop(project: Path, name: str, rows: str) -> None:
    (project / "drops" / "shop" / name).write_text(HEADER + rows)


def basin(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``basin --project <project> <args>`` as a real process (stdout and stderr piped);
    ``env`` adds variables (e.g. ``BASIN_KILL_AT``)."""
    return subprocess.Popen(
        [*BASIN, "--project", str(project), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", **(env or {})},
    )
