"""`basin serve --executor celery`: Airflow's CeleryExecutor with Redis as the broker,
two Celery workers and Airflow's database on PostgreSQL. The DAG's tasks run on both
workers; a worker killed (SIGKILL, its whole process group) in the middle of the load
task is noticed, the task is retried on the other worker, and the run publishes marts
equal to a plain `basin run` of the same files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import service_missing
from tests.orchestration.test_airflow_serve import BASIN, api, free_port, wait_for
from tests.reference_runs import checksums

pytestmark = pytest.mark.e2e

REDIS = "redis://127.0.0.1:6379/7"
"""Database 7 of the machine's Redis is this test's own: emptied when it ends."""


def _redis_answers() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


def test_tasks_run_on_two_celery_workers_and_a_killed_worker_is_retried_on_the_other(
    project: Path, pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = _redis_answers()
    if problem:
        service_missing(f"Redis at {REDIS} does not answer: {problem}")
    # The same project run plainly: what the workers must publish too.
    plain = tmp_path / "plain"
    shutil.copytree(project, plain)
    subprocess.run([BASIN, "--project", str(plain), "run"], check=True, capture_output=True)

    port = free_port()
    database = pg_database.replace("postgresql://", "postgresql+psycopg://")
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text()
        + f"\norchestration:\n  port: {port}\n  retries: 2\n  retry_delay_seconds: 1\n"
        f"  executor: local\n  database_url: {database}\n"
        f"  celery: {{broker_url: '{REDIS}', workers: 2, concurrency: 1}}\n"
        "web: {serve: false}\nmetrics: {serve: false}\n"
    )
    flag = tmp_path / "paused.pid"
    monkeypatch.setenv("BASIN_PAUSE_AT", "load.before_commit")
    monkeypatch.setenv("BASIN_PAUSE_FILE", str(flag))
    # A task whose worker vanished is failed (then retried) within seconds, not minutes.
    monkeypatch.setenv("AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT", "20")
    monkeypatch.setenv(
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL", "5"
    )

    started = subprocess.run(  # --executor overrides basin.yml's local
        [BASIN, "--project", str(project), "serve", "--executor", "celery"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    state = project / ".basin" / "airflow" / "serve.json"
    pids = json.loads(state.read_text())["pids"] if state.exists() else {}
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "Celery workers: worker-1, worker-2" in started.stdout
        assert {"worker-1", "worker-2"} <= set(pids)
        url = f"http://127.0.0.1:{port}"
        password = json.loads((project / ".basin" / "airflow" / "passwords.json").read_text())
        token = api(f"{url}/auth/token", body={"username": "admin", "password": password["admin"]})[
            "access_token"
        ]
        dag = f"{url}/api/v2/dags/basin_proj_dev"
        wait_for("the DAG to be parsed", lambda: _try(lambda: api(dag, token)), timeout=180)
        run = api(f"{dag}/dagRuns", token, body={"logical_date": None})["dag_run_id"]

        # The load task holds at its commit point on one worker: kill that worker whole.
        pid = int(wait_for("the load task to pause", lambda: _read(flag), timeout=300))
        holder = next(name for name, p in pids.items() if p in _groups_above(pid))
        assert holder.startswith("worker-")
        # The machine lost: the worker's group and the task's (Airflow starts the task
        # in a session of its own).
        os.killpg(pids[holder], signal.SIGKILL)
        os.killpg(os.getpgid(pid), signal.SIGKILL)

        def finished() -> dict | None:
            found = api(f"{dag}/dagRuns/{run}", token)
            return found if found["state"] in ("success", "failed") else None

        assert wait_for("the run to finish", finished, timeout=600)["state"] == "success"
        tasks = api(f"{dag}/dagRuns/{run}/taskInstances", token)["task_instances"]
        assert all(t["state"] == "success" for t in tasks)
        # The load ran again, to the end, on the worker that was left (the broker gives
        # the unacknowledged task to it, or the scheduler retries it when its heartbeat
        # stops: either way the other worker).
        load = next(t for t in tasks if t["task_id"] == "load")
        other = "worker-2" if holder == "worker-1" else "worker-1"
        assert load["hostname"].endswith(f"/{other}"), load
        assert {t["queue"] for t in tasks} == {started_queue(project)}

        published = ".basin/dev/published/warehouse.duckdb"
        assert checksums(project / published, ["marts"]) == checksums(plain / published, ["marts"])
    finally:
        subprocess.run([BASIN, "--project", str(project), "serve", "--stop"], timeout=120)
        _forget_broker()
    assert not state.exists()


def _forget_broker() -> None:
    """Remove what the broker keeps of the test: its queue's bindings and messages and
    Celery's own bookkeeping (remote-control and deadline bindings, unacked index) — all
    in the test's database."""
    import redis

    redis.Redis.from_url(REDIS).flushdb()


def started_queue(project: Path) -> str:
    from basin.config import load_project
    from basin.orchestration.airflow.environment import celery_queue

    return celery_queue(project, load_project(project).config.orchestration)


def _read(flag: Path) -> str | None:
    text = flag.read_text().strip() if flag.exists() else ""
    return text or None


def _groups_above(pid: int) -> set[int]:
    """The process groups of ``pid`` and of each of its ancestors."""
    groups = set()
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            groups.add(os.getpgid(pid))
        except (ProcessLookupError, FileNotFoundError):
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4: the parent's pid
    return groups


def _try(fn):  # noqa: ANN001, ANN202
    try:
        return fn()
    except Exception:  # noqa: BLE001 - not there yet
        return None


def test_celery_needs_postgres_and_a_broker_that_answers(project: Path, cli) -> None:
    yml = project / "basin.yml"
    base = yml.read_text()
    yml.write_text(base + f"\norchestration:\n  port: {free_port()}\n  executor: celery\n")
    sqlite = cli("serve", project=project)
    assert sqlite.exit_code == 1 and "needs its database on PostgreSQL" in sqlite.output
    yml.write_text(
        base + f"\norchestration:\n  port: {free_port()}\n  executor: celery\n"
        "  database_url: postgresql+psycopg://postgres@127.0.0.1:5432/test\n"
        f"  celery: {{broker_url: 'redis://127.0.0.1:{free_port()}/0'}}\n"
    )
    broker = cli("serve", project=project)
    assert broker.exit_code == 1 and "does not answer" in broker.output
    assert "orchestration.celery.broker_url" in broker.output
    wrong = cli("serve", "--executor", "kubernetes", project=project)
    assert wrong.exit_code == 2 and "use local or celery" in wrong.output
