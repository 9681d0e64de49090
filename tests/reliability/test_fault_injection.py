"""The fault-injection run: the reference platform killed with SIGKILL at every named
point of a run (inside each step and between steps, in publish and in replay), then
run again. Every published table must equal a clean run's, row for row, and every raw
table must hold each complete batch exactly once: no duplicate, no lost row.

The kill is a real SIGKILL of the real `basin` process, sent by the process itself
when it reaches the point (``BASIN_KILL_AT``, see basin.common.faults), so it lands at
the same instant every time. Figures of a run are in docs/reliability.md.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from basin.common import faults
from tests.reference_runs import TIMEOUT, copy_reference, each_batch_once, state
from tests.reliability.conftest import basin

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUN_POINTS = [p for p in faults.POINTS if not p.startswith(("replay.", "run."))]
"""Points inside a step: each killed once, in a fresh project."""
BETWEEN_STEPS = [p for p in faults.POINTS if p.startswith("run.")]
"""Points between steps: killed one after the other in one project (each killed run
resumes the one before), then run to the end."""


def _report(point: str, runs: int, published: dict, raw: dict, checked: int) -> None:
    """Append the figures to $BASIN_FAULT_REPORT (a JSON line per point), if set."""
    import os

    target = os.environ.get("BASIN_FAULT_REPORT")
    if not target:
        return
    figures = {
        "point": point,
        "runs": runs,
        "published_tables": len(published),
        "raw_tables": len(raw),
        "rows_compared": sum(n for n, _ in published.values()) + sum(n for n, _ in raw.values()),
        "batch_rows_checked": checked,
    }
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(figures) + "\n")


@pytest.mark.parametrize("point", RUN_POINTS)
def test_a_run_killed_at_any_point_then_run_again_equals_a_clean_run(
    point: str, reference_sources: Path, clean: tuple, tmp_path: Path
) -> None:
    _killed_then_run(reference_sources, clean, tmp_path, [point])


def test_runs_killed_between_each_step_in_turn_then_run_again_equal_a_clean_run(
    reference_sources: Path, clean: tuple, tmp_path: Path
) -> None:
    _killed_then_run(reference_sources, clean, tmp_path, BETWEEN_STEPS)


def _killed_then_run(
    reference_sources: Path, clean: tuple, tmp_path: Path, points: list[str]
) -> None:
    project = copy_reference(reference_sources, tmp_path / "reference")
    for point in points:
        killed = basin(project, "run", env={"BASIN_KILL_AT": point})
        killed.communicate(timeout=TIMEOUT)
        assert killed.returncode == -signal.SIGKILL, f"the run never reached {point}"

    again = basin(project, "run")
    out, err = again.communicate(timeout=TIMEOUT)
    assert again.returncode == 0, out[-3000:] + err[-3000:]
    published, raw = state(project)
    assert published == clean[0]
    assert raw == clean[1]
    checked = each_batch_once(project)
    # Nothing half-made is left beside the publication (history/ keeps earlier
    # publications, whole ones only: no temporary folder in it).
    folder = project / ".basin/dev/published"
    assert sorted(p.name for p in folder.iterdir()) in (
        ["warehouse.duckdb"],
        ["history", "warehouse.duckdb"],
    )
    assert not list(folder.glob("history/.*"))
    _report(" → ".join(points), len(points) + 1, published, raw, checked)


def test_a_replay_killed_before_it_commits_then_replayed_equals_a_clean_run(
    reference_sources: Path, clean: tuple, tmp_path: Path
) -> None:
    project = copy_reference(reference_sources, tmp_path / "reference")
    for args, env in (
        (("run",), None),
        (("replay",), {"BASIN_KILL_AT": "replay.mid"}),
        (("replay",), None),
        (("run",), None),
    ):
        proc = basin(project, *args, env=env)
        out, err = proc.communicate(timeout=TIMEOUT)
        expected = -signal.SIGKILL if env else 0
        assert proc.returncode == expected, (args, out[-2000:], err[-2000:])
    published, raw = state(project)
    assert published == clean[0] and raw == clean[1]
    checked = each_batch_once(project)
    _report("replay.mid", 4, published, raw, checked)
