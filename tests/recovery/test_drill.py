"""The disaster drill: a rebuild from the lake alone, beside the live warehouse, equal
to the last publication — and when it is not (a lake batch lost, a published table
changed behind Basin's back), the drill fails naming it. The live warehouse is never
touched, not even by a drill killed with SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
from pathlib import Path

import duckdb
import pytest

from tests.reliability.conftest import basin, drop

pytestmark = pytest.mark.e2e


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _drills(project: Path, env: str = "dev") -> list[tuple[str, str | None, dict]]:
    """(status, error, detail) of each recorded drill step, oldest first."""
    with sqlite3.connect(project / ".basin" / env / "metadata.db") as meta:
        rows = meta.execute(
            "select s.status, s.error, s.detail from basin_steps s join basin_runs r "
            "on r.run_id = s.run_id where r.command = 'drill' order by s.started_at"
        ).fetchall()
    return [(status, error, json.loads(detail or "{}")) for status, error, detail in rows]


def test_a_drill_rebuilds_beside_the_live_warehouse_and_equals_the_publication(
    cli, project: Path
) -> None:
    refused = cli("drill", project=project)
    assert refused.exit_code == 1 and "nothing is published in dev yet" in refused.output
    assert cli("run", project=project).exit_code == 0
    live = project / ".basin" / "dev"
    before = {p: _digest(live / p) for p in ("warehouse.duckdb", "published/warehouse.duckdb")}

    done = cli("drill", project=project)
    assert done.exit_code == 0, done.output
    assert "1 published table(s) equal" in done.output and "RPO 0 batches lost" in done.output
    assert {p: _digest(live / p) for p in before} == before  # the live side untouched
    refusal, (status, _, detail) = _drills(project)
    assert refusal[0] == "failed" and "nothing is published" in str(refusal[1])
    assert status == "success" and detail["ok"] is True
    assert detail["rpo_batches"] == 0 and detail["replayed_batches"] == 1
    assert detail["rto_seconds"] > 0 and detail["tables_differing"] == []

    # A batch loaded but not yet published: the rebuild would hold more than consumers
    # see, so the drill refuses and names the fix.
    drop(project, "orders_002.csv", "9,late@example.org,3.00,paid,2026-01-09 10:00:00\n")
    assert cli("extract", project=project).exit_code == 0
    assert cli("load", project=project).exit_code == 0
    late = cli("drill", project=project)
    assert late.exit_code == 1 and "loaded after the last publication" in late.output
    assert "basin run" in late.output


def test_a_lost_lake_batch_and_a_changed_published_table_fail_the_drill(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    live = project / ".basin" / "dev"
    # Someone edits a published mart by hand.
    with duckdb.connect(str(live / "published" / "warehouse.duckdb")) as con:
        con.execute("update marts.daily_revenue set order_count = order_count + 1")
    changed = cli("drill", project=project)
    assert changed.exit_code == 1
    assert "1 published table(s) differ from the rebuild: marts.daily_revenue" in changed.output
    # The lake loses the batch's manifest (a deleted object, a bad lifecycle rule).
    [manifest] = (live / "lake").rglob("_manifest.json")
    batch = manifest.parent.name.removeprefix("batch=")
    manifest.unlink()
    lost = cli("drill", project=project)
    assert lost.exit_code == 1
    assert f"1 batch(es) of the warehouse are not in the lake (RPO): {batch}" in lost.output
    assert [s for s, _, _ in _drills(project)] == ["failed", "failed"]


def test_a_drill_killed_mid_rebuild_leaves_the_live_side_alone_and_holds_off_a_run(
    project: Path,
) -> None:
    """Killed by SIGKILL mid-build, a drill leaves the live files as they were; the
    next drill holds the environment's lock like a run: a run started meanwhile is
    refused naming it, and the drill passes."""
    import time

    done = basin(project, "run")
    assert done.wait(timeout=900) == 0
    live = project / ".basin" / "dev"
    before = {p: _digest(live / p) for p in ("warehouse.duckdb", "published/warehouse.duckdb")}
    killed = basin(project, "drill", env={"BASIN_KILL_AT": "transform.mid_build"})
    killed.communicate(timeout=900)
    assert killed.returncode == -signal.SIGKILL
    assert {p: _digest(live / p) for p in before} == before

    rebuild = live / "drill" / "metadata.db"
    rebuild.unlink()  # the killed drill's: wait for the next one's
    drill = basin(project, "drill")
    try:
        give_up = time.monotonic() + 600
        while not rebuild.exists():
            assert drill.poll() is None, drill.communicate()
            assert time.monotonic() < give_up, "the drill never started its rebuild"
            time.sleep(0.2)
        # Held mid-rebuild (stopped, alive), so the run surely starts while it runs.
        os.kill(drill.pid, signal.SIGSTOP)
        run = basin(project, "run")
        out, err = run.communicate(timeout=900)
        assert run.returncode != 0
        assert "`basin drill`) is in progress" in out + err, out + err
    finally:
        os.kill(drill.pid, signal.SIGCONT)
        out, err = drill.communicate(timeout=900)
    assert drill.returncode == 0, out[-3000:] + err[-3000:]
    assert "RPO 0 batches lost" in out


@pytest.mark.postgres
def test_a_drill_on_postgres_rebuilds_into_its_own_database(
    cli, project: Path, pg_database: str
) -> None:
    import psycopg

    from tests.warehouses.postgres.test_warehouse import add_pg_env

    add_pg_env(project, pg_database)
    assert cli("--env", "prod", "run", project=project).exit_code == 0
    drill_db = pg_database.rsplit("/", 1)[1] + "_drill"
    try:
        done = cli("--env", "prod", "drill", project=project)
        assert done.exit_code == 0, done.output
        assert "RPO 0 batches lost" in done.output
        with psycopg.connect(pg_database.rsplit("/", 1)[0] + "/" + drill_db) as conn:
            assert conn.execute("select count(*) from marts.daily_revenue").fetchone() == (3,)
    finally:
        with psycopg.connect(pg_database.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'drop database if exists "{drill_db}" with (force)')


def test_the_drill_never_points_at_the_live_warehouse_or_publication(
    project: Path, tmp_path: Path
) -> None:
    """Absolute warehouse and publication paths (outside the state folder) would
    otherwise be shared by the rebuild: the drill gets its own."""
    from basin.config import load_project
    from basin.recovery.drill import drill_project
    from basin.warehouses.base import warehouse_for

    live_file = tmp_path / "elsewhere" / "wh.duckdb"
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "      path: warehouse.duckdb\n",
            f"      path: {live_file}\n    publish_dir: {tmp_path / 'shared'}\n",
            1,
        )
    )
    live = load_project(project)
    twin = drill_project(live)
    assert warehouse_for(live).path == live_file
    assert warehouse_for(twin).path != live_file
    assert twin.publish_dir != live.publish_dir
    assert twin.publish_dir.is_relative_to(live.state_dir / "drill")
    assert twin.lake_url == live.lake_url
