"""The reference platform (scale 0.01) generated once per session, and one clean run
of it on the local lake: what the fault-injection runs and the S3 lake's run must
equal, table by table (published marts) and batch by batch (raw)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from bench.platform import own_port

from tests.reliability.conftest import basin

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 900


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


def copy_reference(reference_sources: Path, dest: Path) -> Path:
    shutil.copytree(reference_sources, dest)
    return own_port(dest)  # other tests may run a copy at the same time


def _normal(value: object) -> str:
    if isinstance(value, float | Decimal):
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def checksums(path: Path, schemas: list[str], drop_prefix: str | None = None) -> dict:
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


def state(project: Path, env_name: str = "dev") -> tuple[dict, dict]:
    env = project / ".basin" / env_name
    published = checksums(env / "published" / "warehouse.duckdb", ["marts"])
    # Raw rows without Basin's lineage columns (batch id, extraction time).
    raw = checksums(env / "warehouse.duckdb", ["raw"], drop_prefix="_basin_")
    return published, raw


def each_batch_once(project: Path, env_name: str = "dev") -> int:
    """Every complete batch is in the ledger once and in raw with exactly its
    manifest's rows; nothing else is in raw. Returns the rows checked."""
    env = project / ".basin" / env_name
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
    project = copy_reference(reference_sources, tmp_path_factory.mktemp("clean") / "reference")
    done = basin(project, "run")
    out, err = done.communicate(timeout=TIMEOUT)
    assert done.returncode == 0, err
    return state(project)
