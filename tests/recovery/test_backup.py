"""Backups and restores: an environment that lost its metadata store, its warehouse
and a lake manifest comes back from a backup equal to what was published, and runs
on; a damaged, unfinished or foreign backup is refused before anything changes."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.recovery.test_drill import _digest
from tests.reliability.conftest import drop

pytestmark = pytest.mark.e2e


def _backups(root: Path, env: str = "dev") -> list[Path]:
    return sorted(p.parent for p in (root / env).glob("*/backup.json"))


def _store(project: Path, sql: str, env: str = "dev") -> list[tuple]:
    with sqlite3.connect(project / ".basin" / env / "metadata.db") as meta:
        return meta.execute(sql).fetchall()


def _published(project: Path) -> list[tuple]:
    import duckdb

    snapshot = project / ".basin" / "dev" / "published" / "warehouse.duckdb"
    with duckdb.connect(str(snapshot), read_only=True) as con:
        return con.execute("select * from marts.daily_revenue order by all").fetchall()


def test_a_lost_environment_comes_back_from_a_backup_and_runs_on(
    cli, project: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "backups"
    nothing = cli("backup", "--to", str(dest), project=project)
    assert nothing.exit_code == 1 and "nothing to back up" in nothing.output
    assert _backups(dest) == []

    assert cli("run", project=project).exit_code == 0
    made = cli("backup", "--to", str(dest), project=project)
    assert made.exit_code == 0, made.output
    assert "all read back and checked" in made.output and "1 lake manifest(s)" in made.output
    (backup,) = _backups(dest)
    record = json.loads((backup / "backup.json").read_text())
    assert set(record["files"]) >= {"metadata.db", "warehouse/warehouse.duckdb"}
    for name, want in record["files"].items():
        assert hashlib.sha256((backup / name).read_bytes()).hexdigest() == want["sha256"]
    published = _published(project)
    watermarks = _store(project, "select source, entity, value from basin_watermarks")
    runs = _store(project, "select run_id, status from basin_runs where command != 'backup'")

    # The disaster: store, warehouse, publication and a lake manifest gone.
    live = project / ".basin" / "dev"
    for name in ("metadata.db", "metadata.db-wal", "metadata.db-shm", "warehouse.duckdb"):
        (live / name).unlink(missing_ok=True)
    shutil.rmtree(live / "published")
    (manifest,) = (live / "lake").rglob("_manifest.json")
    manifest.unlink()

    asked = cli("restore", "--from", str(dest), project=project)  # no terminal, no --yes
    assert asked.exit_code == 2 and "--yes" in asked.output
    done = cli("restore", "--from", str(dest), "--yes", project=project)
    assert done.exit_code == 0, done.output
    assert record["backup_id"] in done.output and "1 lost manifest(s) put back" in done.output
    assert manifest.exists()
    assert _published(project) == published
    assert _store(project, "select source, entity, value from basin_watermarks") == watermarks
    restored_runs = _store(project, "select run_id, status from basin_runs")
    assert set(runs) <= set(restored_runs)
    assert ("restore",) in _store(project, "select command from basin_runs")
    # The audit log: the backup's entries, then those of the store made since the
    # loss, chained on (intact).
    audit = cli("audit", "verify", project=project)
    assert audit.exit_code == 0 and "intact" in audit.output, audit.output

    # It runs on: the lost warehouse loads the lake's batch again, exactly once.
    drop(project, "orders_002.csv", "9,late@example.org,3.00,paid,2026-01-09 10:00:00\n")
    assert cli("run", project=project).exit_code == 0
    after = _published(project)
    assert len(after) == len(published) + 1  # one new day, nothing doubled
    assert set(published) <= set(after)


def test_a_damaged_unfinished_or_foreign_backup_is_refused_before_anything_changes(
    cli, project: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "backups"
    assert cli("run", project=project).exit_code == 0
    assert cli("backup", "--to", str(dest), project=project).exit_code == 0
    (whole,) = _backups(dest)
    live = project / ".basin" / "dev"
    snapshot = live / "published" / "warehouse.duckdb"

    # A later backup killed before its backup.json: never taken, the whole one is.
    unfinished = whole.with_name("r99991231T000000Z-000000")
    shutil.copytree(whole, unfinished)
    (unfinished / "backup.json").unlink()
    assert cli("restore", "--from", str(dest), "--yes", project=project).exit_code == 0
    assert _store(project, "select count(*) from basin_runs where command = 'restore'") == [(1,)]
    named = cli("restore", "--from", str(unfinished), "--yes", project=project)
    assert named.exit_code == 1 and "is an unfinished backup" in named.output

    before = _digest(snapshot)
    runs_before = _store(project, "select count(*) from basin_runs")
    # A byte changed in the backup's lake manifest: refused, naming it.
    (manifest,) = (whole / "lake").rglob("_manifest.json")
    manifest.write_text(manifest.read_text().replace('"row_count": ', '"row_count": 1'))
    damaged = cli("restore", "--from", str(dest), "--yes", project=project)
    assert damaged.exit_code == 1
    assert "is damaged" in damaged.output and "_manifest.json (changed)" in damaged.output
    # A missing file: refused too.
    (whole / "metadata.db").unlink()
    missing = cli("restore", "--from", str(whole), "--yes", project=project)
    assert missing.exit_code == 1 and "metadata.db (missing)" in missing.output
    assert _digest(snapshot) == before
    assert _store(project, "select count(*) from basin_runs") == runs_before  # checked first

    # Another environment's backup.
    assert cli("backup", "--to", str(dest), project=project).exit_code == 0
    newest = _backups(dest)[-1]
    record = json.loads((newest / "backup.json").read_text())
    (newest / "backup.json").write_text(json.dumps({**record, "env": "prod"}))
    foreign = cli("restore", "--from", str(newest), "--yes", project=project)
    assert foreign.exit_code == 1 and "environment prod" in foreign.output
    empty = cli("restore", "--from", str(tmp_path / "nowhere"), "--yes", project=project)
    assert empty.exit_code == 1 and "no backup of environment dev" in empty.output
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    unwritable = cli("backup", "--to", str(a_file), project=project)
    assert unwritable.exit_code == 1 and f"cannot write into {a_file}" in unwritable.output


@pytest.mark.postgres
def test_a_postgres_warehouse_is_restored_whole_and_its_password_is_never_written(
    cli, project: Path, pg_database: str, tmp_path: Path
) -> None:
    import psycopg

    from tests.warehouses.postgres.test_warehouse import add_pg_env

    planted = "Planted-Pg-S3cret-71"
    dsn = pg_database.replace("://postgres@", f"://postgres:{planted}@")
    assert planted in dsn  # trust authentication accepts any password
    add_pg_env(project, dsn)
    assert cli("--env", "prod", "run", project=project).exit_code == 0
    dest = tmp_path / "backups"
    made = cli("--env", "prod", "backup", "--to", str(dest), project=project)
    assert made.exit_code == 0, made.output
    (backup,) = _backups(dest, "prod")
    assert "warehouse/warehouse.pgdump" in json.loads((backup / "backup.json").read_text())["files"]

    def state() -> tuple[list, list]:
        with psycopg.connect(pg_database) as conn:
            marts = conn.execute("select * from marts.daily_revenue order by 1").fetchall()
            ledger = conn.execute("select batch_id from _basin.load_ledger order by 1").fetchall()
        return marts, ledger

    published = state()
    with psycopg.connect(pg_database, autocommit=True) as conn:  # the disaster
        conn.execute(
            "drop schema marts cascade; drop schema raw cascade; drop schema _basin cascade"
        )
    done = cli("--env", "prod", "restore", "--from", str(dest), "--yes", project=project)
    assert done.exit_code == 0, done.output
    assert state() == published
    assert cli("--env", "prod", "run", project=project).exit_code == 0
    assert state() == published  # nothing loaded twice

    outputs = made.output + done.output
    written = [p for p in (project / ".basin").rglob("*") if p.is_file()]
    written += [p for p in dest.rglob("*") if p.is_file()]
    assert planted not in outputs
    assert not [p for p in written if planted.encode() in p.read_bytes()]
