"""The fault-injection run: the reference platform killed with SIGKILL at every named
point of a run (inside each step and between steps, in publish and in replay), then
run again. Every published table must equal a clean run's, row for row, and every raw
table must hold each complete batch exactly once: no duplicate, no lost row.

The kill is a real SIGKILL of the real `basin` process, sent by the process itself
when it reaches the point (``BASIN_KILL_AT``, see basin.common.faults), so it lands at
the same instant every time. Figures of a run are in docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from basin.common import faults
from tests.conftest import own_port
from tests.reliability.conftest import basin

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 900
RUN_POINTS = [p for p in faults.POINTS if not p.startswith("replay.")]


@pytest.fixture(scope="session")
def reference_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference platform with its sources generated once (scale 0.01)."""
    root = tmp_path_factory.mktemp("reference-sources") / "reference"
    shutil.copytree(
        REPO / "examples" / "reference",
        root,
        ignore=shutil.ignore_patterns(".basin", "drops", "data", "target", "logs", "dbt_packages"),
    )
    subprocess.run(
        [sys.executable, str(root / "generator.py"), "--root", str(root), "--scale", "0.01"],
        check=True,
        capture_output=True,
    )
    return root


def _copy(reference_sources: Path, dest: Path) -> Path:
    shutil.copytree(reference_sources, dest)
    return own_port(dest)  # other tests may run a copy at the same time


def _normal(value: object) -> str:
    if isinstance(value, float | Decimal):
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def _checksums(path: Path, schemas: list[str], drop_prefix: str | None = None) -> dict:
    """Order-independent checksum and row count of every table of ``schemas``."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?::varchar[])) order by 1, 2",
            [schemas],
        ).fetchall()
        for schema, table in tables:
            cols = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if not (drop_prefix and c.startswith(drop_prefix))
            ]
            listed = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'select {listed} from "{schema}"."{table}"').fetchall()
            digest = hashlib.sha256()
            for row in sorted("|".join(_normal(v) for v in r) for r in rows):
                digest.update(row.encode() + b"\n")
            out[f"{schema}.{table}"] = (len(rows), digest.hexdigest())
    return out


def _state(project: Path) -> tuple[dict, dict]:
    env = project / ".basin" / "dev"
    published = _checksums(env / "published" / "warehouse.duckdb", ["marts"])
    # Raw rows without Basin's lineage columns (batch id, extraction time).
    raw = _checksums(env / "warehouse.duckdb", ["raw"], drop_prefix="_basin_")
    return published, raw


def _each_batch_once(project: Path) -> int:
    """Every complete batch is in the ledger once and in raw with exactly its
    manifest's rows; nothing else is in raw. Returns the rows checked."""
    env = project / ".basin" / "dev"
    with sqlite3.connect(env / "metadata.db") as meta:
        complete = {
            batch_id: (source, entity, rows)
            for batch_id, source, entity, rows in meta.execute(
                "select batch_id, source, entity, row_count from basin_batches "
                "where status = 'complete'"
            )
        }
    checked = 0
    with duckdb.connect(str(env / "warehouse.duckdb"), read_only=True) as con:
        ledger = [b for (b,) in con.execute("select batch_id from _basin.load_ledger").fetchall()]
        assert len(ledger) == len(set(ledger)), "a batch is in the ledger twice"
        assert set(ledger) == set(complete), "ledger and complete batches differ"
        per_table: dict[str, dict[str, int]] = {}
        for source, entity, _ in complete.values():
            table = f"raw.{source}__{entity}"
            if table not in per_table:
                per_table[table] = dict(
                    con.execute(
                        f"select _basin_batch_id, count(*) from {table} group by 1"
                    ).fetchall()
                )
        for batch_id, (source, entity, rows) in complete.items():
            found = per_table[f"raw.{source}__{entity}"]
            # A full-mode entity's raw table holds only its newest batch.
            if batch_id in found:
                assert found[batch_id] == rows, f"batch {batch_id}: {found[batch_id]} ≠ {rows}"
                checked += rows
        for table, found in per_table.items():
            unknown = set(found) - set(complete)
            assert not unknown, f"{table} holds rows of unknown batches {unknown}"
    return checked


@pytest.fixture(scope="session")
def clean(reference_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    project = _copy(reference_sources, tmp_path_factory.mktemp("clean") / "reference")
    done = basin(project, "run")
    out, err = done.communicate(timeout=TIMEOUT)
    assert done.returncode == 0, err
    return _state(project)


def _report(point: str, runs: int, published: dict, raw: dict, checked: int) -> None:
    """Append the figures to $BASIN_FAULT_REPORT (a JSON line per point), if set."""
    import os

    target = os.environ.get("BASIN_FAULT_REPORT")
    if not target:
        return
    figures = {
        "point": point,
        "runs": runs,
        "published_tables": len(published),
        "raw_tables": len(raw),
        "rows_compared": sum(n for n, _ in published.values()) + sum(n for n, _ in raw.values()),
        "batch_rows_checked": checked,
    }
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(figures) + "\n")


@pytest.mark.parametrize("point", RUN_POINTS)
def test_a_run_killed_at_any_point_then_run_again_equals_a_clean_run(
    point: str, reference_sources: Path, clean: tuple, tmp_path: Path
) -> None:
    project = _copy(reference_sources, tmp_path / "reference")
    killed = basin(project, "run", env={"BASIN_KILL_AT": point})
    killed.communicate(timeout=TIMEOUT)
    assert killed.returncode == -signal.SIGKILL, f"the run never reached {point}"

    again = basin(project, "run")
    out, err = again.communicate(timeout=TIMEOUT)
    assert again.returncode == 0, out[-3000:] + err[-3000:]
    published, raw = _state(project)
    assert published == clean[0]
    assert raw == clean[1]
    checked = _each_batch_once(project)
    # Nothing half-made is left beside the publication.
    assert [p.name for p in (project / ".basin/dev/published").iterdir()] == ["warehouse.duckdb"]
    _report(point, 2, published, raw, checked)


def test_a_replay_killed_before_it_commits_then_replayed_equals_a_clean_run(
    reference_sources: Path, clean: tuple, tmp_path: Path
) -> None:
    project = _copy(reference_sources, tmp_path / "reference")
    for args, env in (
        (("run",), None),
        (("replay",), {"BASIN_KILL_AT": "replay.mid"}),
        (("replay",), None),
        (("run",), None),
    ):
        proc = basin(project, *args, env=env)
        out, err = proc.communicate(timeout=TIMEOUT)
        expected = -signal.SIGKILL if env else 0
        assert proc.returncode == expected, (args, out[-2000:], err[-2000:])
    published, raw = _state(project)
    assert published == clean[0] and raw == clean[1]
    checked = _each_batch_once(project)
    _report("replay.mid", 4, published, raw, checked)
