"""Prefect 3 flows from basin.yml, run by Prefect against a real local Prefect server.

Prefect cannot share Basin's test environment (Prefect 3.9 needs FastAPI >= 0.139,
Airflow 3.3 < 0.137), so the tests use its own virtualenv (made once per machine by
tests/orchestration/prefect_env.py, in the background from the suite's start), start one Prefect server
for the session, and run each flow in a Python process of that environment: the
reference platform publishes what ``basin run`` publishes, a failed gate fails the
flow and publishes nothing, a transient error is retried after growing waits, a
terminal one is not retried, and `basin serve --orchestrator prefect` runs the
project when a file lands in its drop folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.orchestration import prefect_env
from tests.orchestration.common import assert_basin_lineage, with_rest_source
from tests.orchestration.test_airflow_serve import free_port
from tests.reference_runs import checksums


@pytest.fixture(scope="session")
def prefect_python() -> Path:
    """The Python of Prefect's virtualenv (tests/orchestration/prefect_env.py)."""
    return prefect_env.python()


def _environment(home: Path, api: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src") + os.pathsep + str(REPO),
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "basin",
    }
    if api:
        env["PREFECT_API_URL"] = api
    return env


@pytest.fixture(scope="session")
def prefect_server(prefect_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server on 127.0.0.1 for the session; its API URL."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    log = home / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(prefect_python.parent / "prefect"), "server", "start",
             "--host", "127.0.0.1", "--port", str(port)],
            env=_environment(home), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    try:
        give_up = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < give_up, log.read_text()[-3000:]
            time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


RUN = """
import json, sys
from prefect.client.orchestration import get_client
from basin.orchestration.prefect import build_flows

flows = build_flows(sys.argv[1])
state = flows[sys.argv[2]](return_state=True)
tasks = {}
with get_client(sync_client=True) as client:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    runs = client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
    )
    for run in runs:
        history = client.read_task_run_states(run.id)
        tasks[run.name.rsplit("-", 1)[0]] = {
            "run_count": run.run_count,
            "state": run.state.type.value,
            "history": [[s.name, s.timestamp.timestamp(),
                         s.state_details.scheduled_time.timestamp()
                         if s.state_details.scheduled_time else None] for s in history],
        }
print(json.dumps({"state": state.type.value, "message": state.message, "tasks": tasks}))
"""


def run_flow(python: Path, api: str, project: Path, name: str, tmp_path: Path) -> dict:
    done = subprocess.run(
        [str(python), "-c", RUN, str(project / "basin.yml"), name],
        capture_output=True,
        text=True,
        env=_environment(tmp_path / "prefect-client", api),
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["output"] = done.stdout + done.stderr
    return result


def published(project: Path) -> Path:
    return project / ".basin" / "dev" / "published" / "warehouse.duckdb"


def test_the_reference_published_through_prefect_equals_basin_run(
    prefect_python: Path, prefect_server: str, reference: Path, tmp_path: Path
) -> None:
    subprocess.run(
        [sys.executable, str(reference / "generator.py"), "--root", str(reference)]
        + ["--scale", "0.002"],
        check=True,
        capture_output=True,
    )
    twin = tmp_path / "twin"
    shutil.copytree(reference, twin)
    basin = Path(sys.executable).parent / "basin"
    done = subprocess.run([str(basin), "--project", str(twin), "run"], capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr

    result = run_flow(prefect_python, prefect_server, reference, "basin_reference_dev", tmp_path)
    assert result["state"] == "COMPLETED", result
    assert {"load", "transform", "publish", "extract__finance__customers"} <= set(result["tasks"])
    assert "published 5 table(s)" in result["output"]  # Basin's log in Prefect's
    assert checksums(published(reference), ["marts"]) == checksums(published(twin), ["marts"])

    from basin.access.audit import entries
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    assert_basin_lineage(reference)  # Basin's own OpenLineage events, as under Dagster
    platform = Platform(load_project(reference))
    logged = {e.command: (e.actor, e.outcome) for e in entries(platform.store)}
    platform.close()
    assert logged["prefect publish"] == ("service:prefect", "success")


def test_a_failed_gate_fails_the_flow_once_and_publishes_nothing(
    prefect_python: Path, prefect_server: str, project: Path, tmp_path: Path
) -> None:
    from basin.config import load_project
    from basin.observe.incidents import GATE
    from basin.pipeline.platform import Platform

    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "7,t@example.org,99.00,lost,2026-01-07 10:00:00\n"
    )
    yml = project / "basin.yml"
    yml.write_text(yml.read_text() + "\norchestration:\n  retries: 2\n  retry_delay_seconds: 1\n")
    result = run_flow(prefect_python, prefect_server, project, "basin_proj_dev", tmp_path)
    assert result["state"] == "FAILED"
    assert result["tasks"]["transform"]["run_count"] == 1  # terminal: not retried
    assert "publish" not in result["tasks"]
    assert not published(project).exists()
    platform = Platform(load_project(project))
    [incident] = platform.store.incidents(open_only=True)
    assert incident.kind == "gate_failed" and (incident.source, incident.entity) == GATE
    assert platform.store.monitor_results()  # the monitors ran after the failure
    platform.close()


def test_a_transient_error_is_retried_after_growing_waits(
    prefect_python: Path, prefect_server: str, project: Path, tmp_path: Path
) -> None:
    from tests.sources.rest.fake_api import TOKEN, FakeApi

    api = FakeApi().start()
    api.records = [{"id": 1, "name": "a", "updated_at": "2026-01-01T00:00:00"}]
    api.fail[("/pages", "1")] = [503, 503]  # the first two attempts of the task fail
    try:
        with_rest_source(
            project,
            api.url,
            TOKEN,
            "  retries: 2\n  retry_delay_seconds: 1\n  max_retry_delay_seconds: 30\n",
        )
        result = run_flow(prefect_python, prefect_server, project, "basin_proj_dev", tmp_path)
    finally:
        api.stop()
    assert result["state"] == "COMPLETED", result
    extract = result["tasks"]["extract__mail__pages"]
    assert extract["run_count"] == 3
    waits = [
        scheduled - at for name, at, scheduled in extract["history"] if name == "AwaitingRetry"
    ]
    assert len(waits) == 2 and 0.5 <= waits[0] and waits[1] >= 1.5 * waits[0], waits
    assert published(project).exists()


def test_a_terminal_error_fails_at_once_without_retries(
    prefect_python: Path, prefect_server: str, project: Path, tmp_path: Path
) -> None:
    from tests.sources.rest.fake_api import FakeApi

    api = FakeApi().start()
    api.records = [{"id": 1, "name": "a", "updated_at": "2026-01-01T00:00:00"}]
    try:
        with_rest_source(project, api.url, "wrong", "  retries: 3\n  retry_delay_seconds: 1\n")
        result = run_flow(prefect_python, prefect_server, project, "basin_proj_dev", tmp_path)
    finally:
        api.stop()
    assert result["state"] == "FAILED"
    assert result["tasks"]["extract__mail__pages"]["run_count"] == 1
    assert len([r for r in api.requests if r[0] == "/pages"]) == 1  # a 401 is asked once
    assert not published(project).exists()


def test_serve_runs_the_project_on_a_dropped_file_and_stops_cleanly(
    prefect_python: Path, project: Path, tmp_path: Path
) -> None:
    from tests.orchestration.test_airflow_serve import listening_addresses

    port = free_port()
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text() + f"\norchestration:\n  orchestrator: prefect\n  port: {port}\n"
        "  triggers: {poll_interval: 2s, assets: [basin_upstream_dev.published]}\n"
    )
    env = _environment(tmp_path / "cli-home")

    def basin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(prefect_python), "-m", "basin", "--project", str(project), *args],
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip

    started = basin("serve")
    state = project / ".basin" / "prefect"
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"Prefect is running at http://127.0.0.1:{port}" in started.stdout
        assert "already running" in basin("serve").stdout
        pids = [json.loads((state / f).read_text())["pid"] for f in ("serve.json", "runner.json")]
        assert all(a.startswith("127.0.0.1:") for a in listening_addresses(pids))
        # The drop folder holds a file no run has taken: the runner starts a run.
        give_up = time.monotonic() + 600
        while not published(project).exists() and time.monotonic() < give_up:
            time.sleep(2)
        assert published(project).exists(), (state / "runner.log").read_text()[-3000:]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/deployments/filter",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            [deployment] = json.loads(response.read())
        assert deployment["name"] == "dev" and deployment["parameters"]["env"] == "dev"

        # Another project publishing (its basin.published event) starts a run too.
        def runs() -> list[dict]:
            body = json.dumps(
                {"deployments": {"id": {"any_": [deployment["id"]]}}, "limit": 50}
            ).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/flow_runs/filter",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())

        before = len(runs())
        emitted = subprocess.run(
            [str(prefect_python), "-c",
             "from prefect.events import emit_event\n"
             "emit_event(event='basin.published',"
             " resource={'prefect.resource.id': 'basin_upstream_dev.published'})\n"],
            capture_output=True, text=True, timeout=300,
            env={**env, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"},
        )  # fmt: skip
        assert emitted.returncode == 0, emitted.stderr[-2000:]
        give_up = time.monotonic() + 300
        while len(runs()) == before and time.monotonic() < give_up:
            time.sleep(2)
        assert len(runs()) == before + 1, runs()
    finally:
        stopped = basin("serve", "--stop")
    assert stopped.returncode == 0 and "stopped Prefect" in stopped.stdout, stopped.stdout
    assert not (state / "serve.json").exists() and not (state / "runner.json").exists()
    assert listening_addresses(pids) == set()
