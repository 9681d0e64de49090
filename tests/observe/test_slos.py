"""SLOs from recorded history: attainment, error budget and burn over rolling windows;
a budget burning over the longest window breaches once there are enough events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from basin.config.models import ProjectConfig
from basin.metadata.models import CheckResult, Publication, Run
from basin.metadata.store import MetadataStore, open_store
from basin.observe.slos import evaluate, findings

NOW = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'metadata.db'}", env="dev")
    yield s
    s.close()


def _config(**slos: object) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {"project": "p", "orchestration": {"schedule": "0 5 * * *"}, "slos": slos}
    )


def _run(store: MetadataStore, day: int, status: str, published_after: timedelta | None) -> None:
    """A daily 05:00 run ``day`` days before NOW, its checks, and its publication."""
    at = NOW.replace(hour=5) - timedelta(days=day)
    run_id = store.start_run("run")
    store.finish_run(run_id, status)
    store.record_checks(
        run_id,
        [
            {
                "unique_id": f"t{i}",
                "name": f"t{i}",
                "model": "m",
                "column_name": None,
                "severity": "error",
                "status": "fail" if (status == "failed" and i == 0) else "pass",
                "failures": 0,
                "message": None,
                "sample": None,
            }
            for i in range(10)
        ],
    )
    if published_after is not None:
        store.record_publication(run_id, "/x", {"marts.x": 1})
    with store.session() as s:  # as if it happened then
        run = s.get(Run, run_id)
        assert run is not None
        run.started_at, run.ended_at = at, at + timedelta(minutes=5)
        for r in s.query(CheckResult).filter(CheckResult.run_id == run_id):
            r.checked_at = at + timedelta(minutes=4)
        for p in s.query(Publication).filter(Publication.run_id == run_id):
            p.published_at = at + (published_after or timedelta(0))


def test_attainment_budget_and_burn_over_each_window(store: MetadataStore) -> None:
    # 28 daily runs: 3 failed (days 1, 10, 20); published 10 min after 05:00, except
    # one late (40 min, day 5) and the failed ones.
    for day in range(28):
        failed = day in (1, 10, 20)
        late = timedelta(minutes=40) if day == 5 else timedelta(minutes=10)
        _run(store, day, "failed" if failed else "success", None if failed else late)
    windows = {(w.slo, w.days): w for w in evaluate(_config(), store, NOW)}
    jobs = windows[("job_success", 28)]
    assert (jobs.good, jobs.total) == (25, 28)
    assert jobs.budget_left == pytest.approx(1 - 3 / (0.01 * 28))  # overspent: negative
    assert jobs.burn_rate == pytest.approx((3 / 28) / 0.01)
    week = windows[("job_success", 7)]
    assert (week.good, week.total) == (6, 7)  # day 1 in the last 7 days
    fresh = windows[("freshness", 28)]
    assert (fresh.good, fresh.total) == (24, 28)  # 3 failed + 1 late
    quality = windows[("data_quality", 28)]
    assert (quality.good, quality.total) == (277, 280)
    breaches = {
        f.target for f in findings(_config(), list(windows.values())) if f.status == "breach"
    }
    assert breaches == {"job_success", "freshness", "data_quality"}


def test_too_few_events_are_not_judged_and_a_healthy_history_is_ok(store: MetadataStore) -> None:
    _run(store, 0, "failed", None)
    _run(store, 1, "success", timedelta(minutes=5))
    few = {f.target: f.status for f in findings(_config(), evaluate(_config(), store, NOW))}
    # 2 runs: one failure is not a trend; and the scheduled times before the project's
    # first run promised nothing (a new project's first run breached freshness at 0%).
    assert few == {"job_success": "unknown", "data_quality": "unknown", "freshness": "unknown"}
    for day in range(2, 28):
        _run(store, day, "success", timedelta(minutes=5))
    lenient = _config(job_success=0.9, data_quality=0.99, freshness=0.9)
    judged = {f.target: f.status for f in findings(lenient, evaluate(lenient, store, NOW))}
    assert judged == {"job_success": "ok", "data_quality": "ok", "freshness": "ok"}
