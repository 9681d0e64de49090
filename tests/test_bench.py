"""The benchmark harness keeps working (shape of its result, never its times)."""

from __future__ import annotations

import json
import sys

import pytest
from bench.harness import run_arm, summarise


def test_run_arm_reports_time_rows_and_peak_rss() -> None:
    code = "import json; x = bytearray(50 * 2**20); print(json.dumps({'seconds': 0.01, 'rows': 3, 'k': 1}))"
    sample = run_arm("toy", [sys.executable, "-c", code])
    assert sample.rows == 3 and sample.extra == {"k": 1}
    assert sample.peak_rss_mb > 50  # the child's own peak, from wait4
    summary = summarise([sample, sample])
    assert summary["toy"]["n"] == 2 and summary["toy"]["seconds"]["median"] == 0.01


def test_failing_arm_says_why() -> None:
    with pytest.raises(RuntimeError, match="arm bad failed"):
        run_arm("bad", [sys.executable, "-c", "import sys; print('oops'); sys.exit(3)"])


def test_committed_extract_results_have_the_expected_shape() -> None:
    from pathlib import Path

    files = sorted(
        Path(__file__).parent.parent.joinpath("bench", "results").glob("*-extract-postgres-*.json")
    )
    assert files, "bench/results must hold the extraction benchmark's results"
    for f in files:
        data = json.loads(f.read_text())
        assert {"basin", "copy-binary"} <= set(data["summary"])
        assert data["throughput_ratio"] > 0 and data["machine"]["load_avg"]


@pytest.mark.slow
def test_harness_runs_end_to_end_at_a_tiny_scale(tmp_path, monkeypatch) -> None:
    import subprocess

    env = {
        **__import__("os").environ,
        "BASIN_BENCH_RESULTS": str(tmp_path / "results"),
        "BASIN_BENCH_DATA": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            "--scale",
            "0.002",
            "--only",
            "transform,incremental",
            "--pairs",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(__import__("pathlib").Path(__file__).parent.parent),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [result] = list((tmp_path / "results").glob("*-scale-0.002.json"))
    data = json.loads(result.read_text())
    step = data["steps"]["transform"]
    assert set(step["summary"]) == {"transform-basin", "transform-dbt"}
    # The incremental day's marts equal a twin's that recomputed every key.
    [increment] = [
        s for s in data["steps"]["incremental"]["samples"] if s["arm"] == "incremental-increment"
    ]
    assert increment["extra"]["equal_to_whole"] is True
    # and the floor of a day: a run with no new rows, timed with its steps.
    assert increment["extra"]["no_new_rows"]["seconds"] > 0
    assert set(increment["extra"]["no_new_rows"]["steps"]) >= {"extract", "transform", "publish"}
    assert set(increment["extra"]["steps"]) >= {"extract", "load", "transform", "publish"}
    assert step["ratio"] > 0 and step["target"] == 1.15
    summary = result.with_suffix(".md").read_text()
    assert summary.startswith("# Benchmarks at scale 0.002")
    assert "A run with no new rows" in summary


def test_a_result_measured_again_today_never_replaces_the_first(tmp_path, monkeypatch) -> None:
    import bench.__main__ as cli
    import bench.harness as harness

    monkeypatch.setattr(harness, "RESULTS", tmp_path)
    monkeypatch.setattr(cli, "RESULTS", tmp_path)
    first = harness.write_result("gate-duckdb-10", {"n": 1})
    second = harness.write_result("gate-duckdb-10", {"n": 2})
    assert first != second and second.name.startswith(first.name[:10] + "b-")
    assert json.loads(first.read_text()) == {"n": 1}
    # the newest is what sorting the day's files gives last (how `bench run` finds it)
    assert sorted(tmp_path.glob("*-gate-duckdb-10.json"))[-1] == second

    # `bench run`: other steps today join the day's file; a step run again gets its own.
    path, steps = cli.scale_file(10, {"transform": {"ratio": 1.0}})
    path.write_text(json.dumps({"steps": steps}))
    path2, steps2 = cli.scale_file(10, {"incremental": {"ratio": 0.2}})
    assert path2 == path and set(steps2) == {"transform", "incremental"}
    path2.write_text(json.dumps({"steps": steps2}))
    path3, steps3 = cli.scale_file(10, {"incremental": {"ratio": 0.1}})
    assert path3 != path and set(steps3) == {"incremental"}
    assert json.loads(path.read_text())["steps"]["incremental"] == {"ratio": 0.2}
