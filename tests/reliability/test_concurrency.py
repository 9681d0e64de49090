"""Defects 2 and 6: two commands at once, and commands killed with kill -9.

One project + environment runs one writing command at a time; a second one fails at
once naming the first (or queues behind it with --wait), and a lock held by a dead
process is taken over, its run marked abandoned.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.reliability.conftest import FIRST_REVENUE, basin, published, warehouse

pytestmark = pytest.mark.e2e

DEADLINE = 300  # seconds; generous, the machine may be loaded


def _runs(project: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(project / ".basin" / "dev" / "metadata.db") as con:
        return con.execute(
            "select run_id, command, status from basin_runs order by started_at"
        ).fetchall()


def _wait_until(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _running(project: Path) -> bool:
    try:
        return any(status == "running" for _, _, status in _runs(project))
    except sqlite3.Error:
        return False


def _complete_batches(project: Path) -> int:
    with sqlite3.connect(project / ".basin" / "dev" / "metadata.db") as con:
        return con.execute(
            "select count(*) from basin_batches where status = 'complete'"
        ).fetchone()[0]


def test_two_runs_at_once_one_is_refused_naming_the_other(project: Path) -> None:
    first = basin(project, "run")
    _wait_until(lambda: _running(project), "the first run to start")
    second = basin(project, "run")
    out2, err2 = second.communicate(timeout=DEADLINE)
    out1, err1 = first.communicate(timeout=DEADLINE)
    assert first.returncode == 0, err1
    assert second.returncode == 75, (out2, err2)
    [(run_id, _, _)] = [r for r in _runs(project) if r[2] == "success"]
    assert f"another run {run_id} (`basin run`) is in progress since" in err2
    assert f"pid {first.pid}" in err2 and "--wait" in err2
    assert "internal error" not in err2
    # Nothing duplicated: one complete batch, its rows once.
    assert _complete_batches(project) == 1
    assert warehouse(project, "select count(*) from raw.shop__orders") == [(5,)]
    assert published(project) == FIRST_REVENUE


def test_wait_queues_behind_the_running_command(project: Path) -> None:
    first = basin(project, "run")
    _wait_until(lambda: _running(project), "the first run to start")
    second = basin(project, "run", "--wait")
    out2, err2 = second.communicate(timeout=DEADLINE)
    first.communicate(timeout=DEADLINE)
    assert first.returncode == 0 and second.returncode == 0, err2
    assert "waiting" in out2
    assert [s for _, _, s in _runs(project)] == ["success", "success"]
    assert _complete_batches(project) == 1
    assert warehouse(project, "select count(*) from raw.shop__orders") == [(5,)]


def test_a_lock_held_by_a_killed_run_is_taken_over_and_the_run_marked_abandoned(
    project: Path,
) -> None:
    victim = basin(project, "run")
    _wait_until(lambda: _running(project), "the run to start")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=DEADLINE)

    status = basin(project, "status")
    out, err = status.communicate(timeout=DEADLINE)
    assert status.returncode == 0, err
    assert [s for _, _, s in _runs(project)] == ["abandoned"]
    assert "abandoned" in out

    again = basin(project, "run")
    out, err = again.communicate(timeout=DEADLINE)
    assert again.returncode == 0, err
    assert [s for _, _, s in _runs(project)] == ["abandoned", "success"]
    assert warehouse(project, "select count(*) from raw.shop__orders") == [(5,)]
    assert published(project) == FIRST_REVENUE


def test_a_publish_killed_before_its_swap_leaves_no_snapshot_file_after_the_next_run(
    project: Path,
) -> None:
    killed = basin(project, "run", env={"BASIN_KILL_AT": "publish.before_swap"})
    killed.communicate(timeout=DEADLINE)
    assert killed.returncode == -signal.SIGKILL
    folder = project / ".basin" / "dev" / "published"
    assert list(folder.glob(".*.tmp*")), "the kill should have left the half-made snapshot"
    assert not (folder / "warehouse.duckdb").exists()

    again = basin(project, "run")
    out, err = again.communicate(timeout=DEADLINE)
    assert again.returncode == 0, err
    assert "ended without finishing: marked abandoned" in out
    assert sorted(p.name for p in folder.iterdir()) == ["warehouse.duckdb"]
    assert published(project) == FIRST_REVENUE


def test_extracts_of_different_entities_share_the_project_but_not_an_entity(
    project: Path,
) -> None:
    # A long-running extract of shop.orders (killed before it completes its batch)…
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    platform = Platform(load_project(project))
    lock = platform.store.locks
    with (
        lock.hold(platform.resources.lock_name(), shared=True),
        lock.hold(platform.resources.lock_name(("shop", "orders"))),
    ):
        # …blocks another extract of the same entity and any exclusive command,
        other = basin(project, "extract", "--select", "shop.orders")
        out, err = other.communicate(timeout=DEADLINE)
        assert other.returncode == 1 and "shop.orders is being extracted by another command" in err
        load = basin(project, "load")
        out, err = load.communicate(timeout=DEADLINE)
        assert load.returncode == 75 and "in progress" in err
    platform.close()
    assert _complete_batches(project) == 0


@pytest.mark.postgres
def test_two_runs_sharing_a_postgres_metadata_store_are_kept_apart(
    project: Path, pg_url: str, pg_schema: str
) -> None:
    import psycopg

    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            '    # metadata: {url: "sqlite:///metadata.db"}  # or postgresql+psycopg://…',
            f'    metadata: {{url: "${{env:BASIN_TEST_META_URL}}", schema: {pg_schema}}}',
        )
    )
    env = {"BASIN_TEST_META_URL": pg_url.replace("postgresql://", "postgresql+psycopg://")}

    def runs() -> list[tuple[str, str]]:
        try:
            with psycopg.connect(pg_url) as conn:
                return conn.execute(
                    f'select run_id, status from "{pg_schema}".basin_runs order by started_at'
                ).fetchall()
        except psycopg.Error:
            return []

    first = basin(project, "run", env=env)
    _wait_until(lambda: any(s == "running" for _, s in runs()), "the first run to start")
    second = basin(project, "run", env=env)
    out2, err2 = second.communicate(timeout=DEADLINE)
    out1, err1 = first.communicate(timeout=DEADLINE)
    assert first.returncode == 0, err1
    assert second.returncode == 75 and f"pid {first.pid}" in err2, (out2, err2)
    assert [s for _, s in runs()] == ["success"]
    # The advisory lock died with its holder: a killed run does not block the next one.
    victim = basin(project, "run", "--wait", env=env)
    _wait_until(lambda: [s for _, s in runs()][-1:] == ["running"], "the run to start")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=DEADLINE)
    again = basin(project, "run", env=env)
    out, err = again.communicate(timeout=DEADLINE)
    assert again.returncode == 0, err
    assert [s for _, s in runs()] == ["success", "abandoned", "success"]
