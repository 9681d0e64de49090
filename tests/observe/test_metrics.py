"""Prometheus metrics: written as a textfile after each run, served on 127.0.0.1,
parsed with prometheus-client's own parser; the Grafana dashboard asks only for
metrics that exist."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.observe.conftest import free_port

pytestmark = pytest.mark.e2e

DASHBOARD = Path(__file__).parents[2] / "src/basin/observe/grafana/basin.json"


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (
            s.name,
            tuple(sorted((k, v) for k, v in s.labels.items() if k not in ("project", "env"))),
        ): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_run_writes_the_textfile_and_serve_answers_the_same(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    textfile = project / ".basin/dev/metrics/basin.prom"
    samples = _samples(textfile.read_text())
    assert samples[("basin_runs_total", (("command", "run"), ("status", "success")))] == 1
    assert samples[("basin_extracted_rows_total", (("entity", "orders"), ("source", "shop")))] == 5
    assert samples[("basin_published_rows", (("table", "marts.daily_revenue"),))] == 3
    assert samples[("basin_check_pass_ratio", ())] == 1
    assert (
        samples[("basin_monitor_breach", (("monitor", "freshness"), ("target", "published")))] == 0
    )
    assert not list(textfile.parent.glob(".*tmp"))  # replaced at once, nothing left over

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "basin",
            "--project",
            str(project),
            "metrics",
            "--serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
                    body = r.read().decode()
            except OSError:
                assert server.poll() is None, server.communicate()
                time.sleep(0.5)
        assert body is not None, "basin metrics --serve did not answer"
        served = _samples(body)
        assert {k for k in served if k[0].startswith("basin_")} == set(samples)
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_the_grafana_dashboard_asks_only_for_metrics_basin_exposes() -> None:
    from basin.observe.metrics import METRICS

    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["panels"]
    names = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names |= set(re.findall(r"\bbasin_[a-z_]+", target["expr"]))
    assert names and names <= set(METRICS), names - set(METRICS)
    assert set(METRICS) <= names | {"basin_last_run_end_timestamp_seconds"}  # each one shown
    # The data source is a variable: the file provisions into any Grafana.
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"datasource", "project", "env"}


def test_all_envs_labels_each_environment_and_a_taken_port_is_named(cli, project: Path) -> None:
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "environments:\n",
            "environments:\n  ci:\n    warehouse: {engine: duckdb, path: warehouse.duckdb}\n",
            1,
        )
    )
    assert cli("run", project=project).exit_code == 0
    assert cli("--env", "ci", "run", project=project).exit_code == 0
    assert cli("--env", "ci", "run", project=project).exit_code == 0
    shown = cli("metrics", "--all-envs", project=project)
    assert shown.exit_code == 0, shown.output
    runs = {
        s.labels["env"]: s.value
        for family in text_string_to_metric_families(shown.stdout)
        for s in family.samples
        if s.name == "basin_runs_total"
    }
    assert runs == {"dev": 1, "ci": 2}

    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = cli("metrics", "--serve", "--port", str(port), project=project)
    assert refused.exit_code != 0
    assert f"127.0.0.1:{port}" in refused.stderr and "metrics.port" in refused.stderr
