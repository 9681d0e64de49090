"""Monitors judged on recorded history: a robust volume baseline that alarms on a day
with 90% fewer rows and never on 30 normal days, schedule-aware freshness."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from basin.config.models import ProjectConfig
from basin.metadata.models import Batch
from basin.metadata.store import MetadataStore, open_store
from basin.observe.monitors import evaluate, longest_gap, max_age

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday


def _config(monitors: dict | None = None, schedule: str | None = None) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "project": "p",
            "sources": {
                "shop": {
                    "kind": "files",
                    "path": "drops",
                    "entities": {"orders": {"glob": "*.csv"}},
                }
            },
            "monitors": monitors or {},
            "orchestration": {"schedule": schedule} if schedule else {},
        }
    )


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'metadata.db'}", env="dev")
    yield s
    s.close()


def _batch(store: MetadataStore, day: int, rows: int) -> None:
    batch_id = f"b{day:04d}"
    store.begin_batch(batch_id, "shop", "orders", None, f"/lake/{batch_id}", [])
    store.complete_batch(batch_id, row_count=rows, quarantined_rows=0)
    at = START + timedelta(days=day)
    with store.session() as s:  # as if written on that day
        b = s.get(Batch, batch_id)
        assert b is not None
        b.created_at = at
        b.completed_at = at


def _volume(store: MetadataStore, config: ProjectConfig, now: datetime):
    [found] = [f for f in evaluate(config, store, now) if f.monitor == "volume"]
    return found


def test_thirty_normal_days_raise_nothing_and_a_day_with_90_percent_fewer_rows_does(
    store: MetadataStore,
) -> None:
    config = _config()
    rng = random.Random(7)
    verdicts = []
    for day in range(30):
        _batch(store, day, int(rng.gauss(10_000, 600)))
        verdicts.append(_volume(store, config, START + timedelta(days=day, hours=1)).status)
    assert verdicts[:5] == ["unknown"] * 5  # learning: fewer than min_history batches
    assert verdicts[5:].count("breach") == 0  # no false positive in 25 judged days
    _batch(store, 30, 1_000)
    low = _volume(store, config, START + timedelta(days=30, hours=1))
    assert low.status == "breach" and "90% fewer" in low.message
    assert low.expected["baseline_batches"] == 14  # the window, not the tested batch
    # The next normal day is judged against a baseline the low day barely moves.
    _batch(store, 31, 10_100)
    assert _volume(store, config, START + timedelta(days=31, hours=1)).status == "ok"


@pytest.mark.parametrize(
    ("usual", "today", "verdict"),
    [
        (4, 2, "ok"),  # half of a tiny count: noise (MAD 0 alone would call it infinite)
        (4, 0, "ok"),  # a quiet day of a source delivering ~4 rows
        (40, 4, "breach"),  # 90% fewer of a count large enough to tell
        (400, 300, "breach"),  # 5 √400 away and 25% fewer (> min_relative_change 20%)
    ],
)
def test_small_counts_vary_as_counts_do(
    store: MetadataStore, usual: int, today: int, verdict: str
) -> None:
    config = _config({"volume": {"min_relative_change": 0.2}})
    for day in range(8):  # identical days: MAD 0
        _batch(store, day, usual)
    _batch(store, 8, today)
    assert _volume(store, config, START + timedelta(days=8, hours=1)).status == verdict


def test_weekday_seasonality_is_normal_only_with_by_weekday(store: MetadataStore) -> None:
    rng = random.Random(3)
    for day in range(34):  # weekdays ~10k rows, weekends ~2k (START is a Monday)
        weekend = (START + timedelta(days=day)).weekday() >= 5
        _batch(store, day, int(rng.gauss(2_000 if weekend else 10_000, 100)))
    saturday = START + timedelta(days=33, hours=1)
    assert (START + timedelta(days=33)).weekday() == 5
    assert _volume(store, _config(), saturday).status == "breach"
    seasonal = _config({"volume": {"by_weekday": True, "min_history": 3}})
    assert _volume(store, seasonal, saturday).status == "ok"


def test_freshness_follows_the_schedule_and_names_when_the_data_became_late(
    store: MetadataStore,
) -> None:
    _batch(store, 0, 100)
    daily = _config(schedule="0 5 * * *")
    assert max_age(daily.monitors, "0 5 * * *", "shop.orders") == timedelta(hours=25)
    weekdays = "0 5 * * 1-5"
    assert longest_gap(weekdays) == timedelta(days=3)  # Friday → Monday
    findings = evaluate(daily, store, START + timedelta(hours=24))
    [fresh] = [f for f in findings if f.monitor == "freshness" and f.target == "shop.orders"]
    assert fresh.status == "ok"
    late = START + timedelta(hours=30)
    [fresh] = [
        f
        for f in evaluate(daily, store, late)
        if f.monitor == "freshness" and f.target == "shop.orders"
    ]
    assert fresh.status == "breach" and "no new rows for 30.0 h (limit 25.0 h)" in fresh.message
    assert fresh.event_at == START + timedelta(hours=25)
    # A per-entity limit wins; an excluded entity is not judged.
    strict = _config({"freshness": {"entities": {"shop.orders": "10m"}}})
    [fresh] = [
        f
        for f in evaluate(strict, store, START + timedelta(minutes=20))
        if f.monitor == "freshness" and f.target == "shop.orders"
    ]
    assert fresh.status == "breach"
    excluded = _config({"freshness": {"exclude": ["shop.orders"]}})
    assert not [
        f
        for f in evaluate(excluded, store, late)
        if f.monitor == "freshness" and f.target == "shop.orders"
    ]
