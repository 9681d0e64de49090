"""`basin serve --orchestrator dagster` under the real Dagster (webserver and daemon):
a file in the drop folder starts a run that publishes, the run is visible through
Dagster's GraphQL API, everything listens on 127.0.0.1 only, and `basin serve --stop`
leaves nothing running or listening."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.orchestration.test_airflow_serve import BASIN, free_port, listening_addresses

pytest.importorskip("dagster")


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["data"]


def test_serve_runs_the_project_on_a_dropped_file_and_stops_cleanly(project: Path) -> None:
    port = free_port()
    yml = project / "basin.yml"
    yml.write_text(yml.read_text() + f"\norchestration:\n  orchestrator: dagster\n  port: {port}\n")

    def basin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BASIN, "--project", str(project), *args], capture_output=True, text=True
        )

    # Two `basin serve` at once start one Dagster.
    both = [
        subprocess.Popen(
            [BASIN, "--project", str(project), "serve"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = sorted(p.communicate(timeout=600)[0] for p in both)
    try:
        assert [p.returncode for p in both] == [0, 0], outputs
        url = f"http://127.0.0.1:{port}"
        assert f"Dagster is already running at {url}" in outputs[0], outputs
        assert f"Dagster is running at {url}" in outputs[1], outputs
        state = json.loads((project / ".basin" / "dagster" / "serve.json").read_text())
        assert all(a.startswith("127.0.0.1:") for a in listening_addresses([state["pid"]]))

        # The project's drop folder holds a file no run has taken: the sensor starts one.
        published = project / ".basin" / "dev" / "published" / "warehouse.duckdb"
        give_up = time.monotonic() + 600
        runs: list[dict] = []
        while time.monotonic() < give_up:
            runs = graphql(url, "{ runsOrError { ... on Runs { results { runId status } } } }")[
                "runsOrError"
            ]["results"]
            if any(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
                break
            time.sleep(2)
        assert [r["status"] for r in runs] == ["SUCCESS"], runs
        assert published.exists()

        # kill -9 of `dagster dev` leaves its webserver and daemon on the port: the next
        # serve stops them and starts afresh (it refused with "port in use" before).
        os.kill(state["pid"], signal.SIGKILL)
        restarted = basin("serve")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert f"Dagster is running at {url}" in restarted.stdout, restarted.stdout
        state = json.loads((project / ".basin" / "dagster" / "serve.json").read_text())
    finally:
        stopped = basin("serve", "--stop")
    assert stopped.returncode == 0 and "stopped Dagster" in stopped.stdout, stopped.stdout
    assert not (project / ".basin" / "dagster" / "serve.json").exists()
    assert listening_addresses([state["pid"]]) == set()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
