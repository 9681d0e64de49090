"""`basin serve` under the real scheduler: a dropped file starts a run, a missed deadline
fires its callback, and `basin serve --stop` leaves nothing running or listening."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BASIN = str(Path(sys.executable).parent / "basin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(pids: list[int]) -> set[str]:
    """``ip:port`` of every listening TCP socket held by the process groups of ``pids``."""
    inodes: set[str] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) not in pids:
                continue
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                if width == 8:
                    ip = socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1])
                else:
                    raw = bytes.fromhex(address)
                    ip = socket.inet_ntop(
                        socket.AF_INET6,
                        b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)),
                    )
                found.add(f"{ip}:{int(port, 16)}")
    return found


def api(url: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_for(what: str, check, timeout: float):  # noqa: ANN001, ANN201
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if (value := check()) is not None:
            return value
        time.sleep(2)
    pytest.fail(f"waited {timeout:.0f} s for {what}")


def test_serve_runs_the_dag_when_a_file_lands_and_stops_cleanly(
    project: Path, request: pytest.FixtureRequest
) -> None:
    from tests.conftest import superset_venv

    port, metrics_port, web_port, bi_port = free_port(), free_port(), free_port(), free_port()
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text() + f"\norchestration:\n  port: {port}\n  retries: 0\n  deadline: 5s\n"
        "  triggers: {poll_interval: 2s}\n"
        f"metrics:\n  port: {metrics_port}\n"
        f"web:\n  port: {web_port}\n"
        f"bi:\n  port: {bi_port}\n"
    )
    os.environ["BASIN_SUPERSET_VENV"] = str(superset_venv(request.config))
    request.addfinalizer(lambda: os.environ.pop("BASIN_SUPERSET_VENV", None))
    # The sample file is extracted before Airflow starts: only the new file may fire.
    subprocess.run([BASIN, "--project", str(project), "run"], check=True, capture_output=True)

    started = subprocess.run(
        [BASIN, "--project", str(project), "serve", "--bi"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    state = project / ".basin" / "airflow" / "serve.json"
    pids = list(json.loads(state.read_text())["pids"].values()) if state.exists() else []
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        url = f"http://127.0.0.1:{port}"
        assert url in started.stdout
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        assert metrics_url in started.stdout
        web_url = f"http://127.0.0.1:{web_port}/"
        assert web_url in started.stdout
        assert f"Superset at http://127.0.0.1:{bi_port}" in started.stdout
        # Airflow, the metrics endpoint and Basin's UI, on 127.0.0.1 only.
        assert listening_addresses(pids) == {
            f"127.0.0.1:{port}",
            f"127.0.0.1:{metrics_port}",
            f"127.0.0.1:{web_port}",
        }

        # The admin user created on first start can log in and sees the project's DAG.
        password = json.loads((project / ".basin" / "airflow" / "passwords.json").read_text())
        token = api(f"{url}/auth/token", body={"username": "admin", "password": password["admin"]})[
            "access_token"
        ]
        dag_url = f"{url}/api/v2/dags/basin_proj_dev"
        wait_for(
            "the DAG to be parsed",
            lambda: _try(lambda: api(dag_url, token)),
            timeout=120,
        )
        assert api(dag_url, token)["is_paused"] is False

        (project / "drops" / "shop" / "orders_002.csv").write_text(
            "order_id,customer_email,amount,status,ordered_at\n"
            "9001,new@example.org,12.50,paid,2026-02-01 10:00:00\n"
        )

        def finished_run() -> dict | None:
            runs = api(f"{dag_url}/dagRuns", token)["dag_runs"]
            done = [r for r in runs if r["state"] in ("success", "failed")]
            return done[0] if done else None

        run = wait_for("the asset-triggered run to finish", finished_run, timeout=300)
        assert run["run_type"] == "asset_triggered"
        assert run["state"] == "success"
        assert len(api(f"{dag_url}/dagRuns", token)["dag_runs"]) == 1  # fired once

        import duckdb

        published = project / ".basin" / "dev" / "published" / "warehouse.duckdb"
        with duckdb.connect(str(published), read_only=True) as con:
            day = con.execute(
                "select count(*) from marts.daily_revenue where order_date = date '2026-02-01'"
            ).fetchone()
        assert day == (1,)

        # The run took longer than its 5 s deadline: the scheduler fired the callback.
        from basin.config import load_project
        from basin.pipeline.platform import Platform

        def deadline_incident() -> object | None:
            platform = Platform(load_project(project))
            try:
                missed = [i for i in platform.store.incidents() if i.kind == "deadline_missed"]
            finally:
                platform.close()
            return missed[0] if missed else None

        incident = wait_for("the deadline callback", deadline_incident, timeout=60)
        assert "basin_proj_dev" in incident.message  # type: ignore[attr-defined]

        # The DAG's monitor task ran after publish; the endpoint serves what the tasks did.
        def scraped() -> dict | None:
            from prometheus_client.parser import text_string_to_metric_families

            with urllib.request.urlopen(metrics_url, timeout=30) as response:
                text = response.read().decode()
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
            }
            breaches = [k for k in samples if k[0] == "basin_monitor_breach"]
            return samples if breaches else None

        samples = wait_for("the monitors' results in the metrics", scraped, timeout=120)
        publishes = [
            v
            for (name, labels), v in samples.items()
            if name == "basin_runs_total" and ("command", "publish") in labels
        ]
        assert publishes and all(("env", "dev") in k[1] for k in samples)

        # Basin's UI shows the run the DAG's tasks made, with a link into Airflow.
        with urllib.request.urlopen(f"{web_url}runs?command=publish", timeout=30) as response:
            page = response.read().decode()
        assert "success" in page and f"http://127.0.0.1:{port}" in page

        # The OpenLineage provider wrote START and COMPLETE for every task of the run.
        events = [
            json.loads(line)
            for line in (project / ".basin" / "openlineage" / "airflow-events.jsonl")
            .read_text()
            .splitlines()
        ]
        by_job: dict[str, set[str]] = {}
        for event in events:
            by_job.setdefault(event["job"]["name"], set()).add(event["eventType"])
        for task in ("extract__shop__orders", "load", "transform", "publish", "monitor"):
            assert by_job[f"basin_proj_dev.{task}"] >= {"START", "COMPLETE"}, by_job
    finally:
        stopped = subprocess.run(
            [BASIN, "--project", str(project), "serve", "--stop"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "stopped Airflow (" in stopped.stdout and "Superset" in stopped.stdout
    assert not listening_addresses(pids)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
    for closed in (port, metrics_port, web_port, bi_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", closed)) != 0


def _try(fn):  # noqa: ANN001, ANN202
    try:
        return fn()
    except OSError:
        return None


def test_serve_names_the_port_in_use_and_the_setting_to_change(
    project: Path, cli, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        yml = project / "basin.yml"
        yml.write_text(yml.read_text() + f"\norchestration:\n  port: {port}\n")
        result = cli("serve", project=project)
    assert result.exit_code != 0
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "orchestration.port" in result.stderr
    assert not (project / ".basin" / "airflow" / "serve.json").exists()


def test_serve_without_a_dag_folder_says_how_to_add_one(project: Path, cli) -> None:
    import shutil

    shutil.rmtree(project / "dags")
    result = cli("serve", project=project)
    assert result.exit_code != 0
    assert "no DAG folder" in result.stderr and "build_dags" in result.stderr


def test_stop_when_nothing_runs(project: Path, cli) -> None:
    result = cli("serve", "--stop", project=project)
    assert result.exit_code == 0
    assert "nothing to stop" in result.stdout


def test_serve_without_airflow_installed_says_how_to_install_it(
    project: Path, cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bare = tmp_path / "bare-venv" / "bin" / "python"  # an interpreter with no airflow beside it
    bare.parent.mkdir(parents=True)
    monkeypatch.setattr(sys, "executable", str(bare))
    result = cli("serve", project=project)
    assert result.exit_code != 0
    assert "Airflow is not installed" in result.stderr and "basin[airflow]" in result.stderr
