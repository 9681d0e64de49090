"""Monitors: freshness, volume, schema drift and check pass rate, from the metadata store.

Every monitor reads what Basin already records — batches with their row counts,
publications, schema versions, check results — so evaluating all of them costs a few
queries, never a scan of a table. Each result is ``ok``, ``breach`` or ``unknown``
(not enough history yet).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from basin.common.types import parse_duration

if TYPE_CHECKING:
    from basin.config.models import ProjectConfig
    from basin.metadata.models import Batch
    from basin.metadata.store import MetadataStore
    from basin.observe.configuration import MonitorsConfig

PUBLISHED = "published"
"""The target of the monitors that watch the publication as a whole."""


@dataclass
class Finding:
    """One monitor's verdict on one target (``crm.customers``, ``published``)."""

    monitor: str  # freshness | volume | schema | checks
    target: str
    status: str  # ok | breach | unknown
    message: str
    observed: float | None = None
    expected: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"
    event_at: datetime | None = None
    """When the problem began (the moment the data became late)."""
    source: str | None = None
    entity: str | None = None

    def record(self) -> dict[str, Any]:
        """The fields the metadata store keeps."""
        return {
            "monitor": self.monitor,
            "target": self.target,
            "status": self.status,
            "observed": self.observed,
            "expected": json.dumps(self.expected, default=str) if self.expected else None,
            "message": self.message,
        }


def evaluate(config: ProjectConfig, store: MetadataStore, now: datetime) -> list[Finding]:
    """Every monitor on every target, as of ``now``."""
    from basin.config import iter_entities

    monitors = config.monitors
    batches: dict[tuple[str, str], list[Batch]] = {}
    for batch in store.batches(status="complete"):
        batches.setdefault((batch.source, batch.entity), []).append(batch)
    findings: list[Finding] = []
    for source, entity in iter_entities(config):
        mine = batches.get((source, entity), [])
        name = f"{source}.{entity}"
        if name not in monitors.freshness.exclude:
            findings.append(_entity_freshness(monitors, config, source, entity, mine, now))
        findings.append(_volume(monitors, source, entity, mine))
        if monitors.schema_drift:
            drift = _schema_drift(store, source, entity, mine)
            if drift is not None:
                findings.append(drift)
    findings.append(_published_freshness(monitors, config, store, now))
    checks = _check_pass_rate(monitors, store, block_on_warn=config.quality.block_on_warn)
    if checks is not None:
        findings.append(checks)
    return findings


def max_age(monitors: MonitorsConfig, schedule: str | None, entity: str | None) -> timedelta:
    """The freshness limit of an entity (or of the publication, ``entity`` None)."""
    cfg = monitors.freshness
    if entity is not None and entity in cfg.entities:
        return parse_duration(cfg.entities[entity])
    if cfg.max_age:
        return parse_duration(cfg.max_age)
    if schedule:
        return longest_gap(schedule) + parse_duration(cfg.grace)
    return timedelta(hours=26)


def longest_gap(schedule: str, horizon: int = 400) -> timedelta:
    """The longest time between two consecutive runs of a cron schedule (over its next
    ``horizon`` runs: a weekday-only schedule has a weekend gap)."""
    import importlib

    # Imported by name: croniter has no type information, and whether mypy then wants
    # stubs depends on its cache.
    croniter = importlib.import_module("croniter").croniter
    it = croniter(schedule, datetime(2026, 1, 1))
    previous = it.get_next(datetime)
    longest = timedelta(0)
    for _ in range(horizon):
        current = it.get_next(datetime)
        longest = max(longest, current - previous)
        previous = current
    return longest


def _entity_freshness(
    monitors: MonitorsConfig,
    config: ProjectConfig,
    source: str,
    entity: str,
    batches: list[Batch],
    now: datetime,
) -> Finding:
    name = f"{source}.{entity}"
    limit = max_age(monitors, config.orchestration.schedule, name)
    with_rows = [b for b in batches if (b.row_count or 0) > 0 and b.completed_at]
    base = Finding("freshness", name, "unknown", "", source=source, entity=entity)
    base.expected = {"max_age_seconds": limit.total_seconds()}
    if not with_rows:
        base.message = f"{name}: no rows extracted yet"
        return base
    newest = max(b.completed_at for b in with_rows if b.completed_at)
    age = now - newest
    base.observed = age.total_seconds()
    if age <= limit:
        base.status = "ok"
        base.message = f"{name}: newest rows {human(age)} old (limit {human(limit)})"
        return base
    base.status = "breach"
    base.event_at = newest + limit
    base.message = (
        f"{name}: no new rows for {human(age)} (limit {human(limit)}); the last arrived "
        f"{newest:%Y-%m-%d %H:%M} UTC"
    )
    return base


def _published_freshness(
    monitors: MonitorsConfig, config: ProjectConfig, store: MetadataStore, now: datetime
) -> Finding:
    limit = max_age(monitors, config.orchestration.schedule, None)
    last = store.last_publication()
    found = Finding("freshness", PUBLISHED, "unknown", "nothing published yet")
    found.expected = {"max_age_seconds": limit.total_seconds()}
    if last is None:
        return found
    age = now - last.published_at
    found.observed = age.total_seconds()
    if age <= limit:
        found.status = "ok"
        found.message = f"published {human(age)} ago (limit {human(limit)})"
    else:
        found.status = "breach"
        found.event_at = last.published_at + limit
        found.message = (
            f"nothing published for {human(age)} (limit {human(limit)}); the last "
            f"publication was run {last.run_id} at {last.published_at:%Y-%m-%d %H:%M} UTC"
        )
    return found


def _volume(monitors: MonitorsConfig, source: str, entity: str, batches: list[Batch]) -> Finding:
    cfg = monitors.volume
    name = f"{source}.{entity}"
    found = Finding("volume", name, "unknown", "", source=source, entity=entity)
    if not batches:
        found.message = f"{name}: no batch yet"
        return found
    ordered = sorted(batches, key=lambda b: (b.created_at, b.batch_id))
    tested, earlier = ordered[-1], ordered[:-1]
    if cfg.by_weekday:
        earlier = [b for b in earlier if b.created_at.weekday() == tested.created_at.weekday()]
    history = [float(b.row_count or 0) for b in earlier[-cfg.window :]]
    rows = float(tested.row_count or 0)
    found.observed = rows
    if len(history) < cfg.min_history:
        found.message = (
            f"{name}: batch {tested.batch_id} has {rows:.0f} rows; {len(history)} earlier "
            f"batch(es), {cfg.min_history} needed for a baseline"
        )
        return found
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    # Row counts vary at least as counts do (Poisson: a standard deviation of
    # √median): a source delivering ~4 rows a day with 2 today is noise, not an anomaly,
    # even when its earlier days happened to be equal (MAD 0).
    spread = max(1.4826 * mad, math.sqrt(median))
    z = abs(rows - median) / spread if spread else (0.0 if rows == median else float("inf"))
    relative = abs(rows - median) / median if median else (0.0 if rows == 0 else float("inf"))
    found.expected = {
        "median": median,
        "mad": mad,
        "z": None if z == float("inf") else round(z, 2),
        "baseline_batches": len(history),
    }
    if z > cfg.threshold and relative > cfg.min_relative_change:
        found.status = "breach"
        found.event_at = tested.created_at
        direction = "fewer" if rows < median else "more"
        found.message = (
            f"{name}: batch {tested.batch_id} has {rows:.0f} rows, {relative:.0%} {direction} "
            f"than the median {median:.0f} of the {len(history)} batches before it"
        )
    else:
        found.status = "ok"
        found.message = f"{name}: batch {tested.batch_id} has {rows:.0f} rows (median {median:.0f})"
    return found


def _schema_drift(
    store: MetadataStore, source: str, entity: str, batches: list[Batch]
) -> Finding | None:
    """Drift in the entity's newest batch: a schema version it recorded (additive
    changes; a breaking one never completes a batch)."""
    history = store.schema_history(source, entity)
    if not history or not batches:
        return None
    name = f"{source}.{entity}"
    newest_batch = max(batches, key=lambda b: (b.created_at, b.batch_id)).batch_id
    latest = history[-1]
    drifted = latest.version > 1 and latest.batch_id == newest_batch
    return Finding(
        "schema",
        name,
        "breach" if drifted else "ok",
        f"{name}: columns changed in batch {newest_batch}: {latest.change}"
        if drifted
        else f"{name}: schema version {latest.version}",
        observed=float(latest.version),
        severity="warn",
        event_at=latest.recorded_at if drifted else None,
        source=source,
        entity=entity,
    )


def _check_pass_rate(
    monitors: MonitorsConfig, store: MetadataStore, *, block_on_warn: bool
) -> Finding | None:
    """The newest build's share of passing checks, of those that ran (a test skipped
    because its model failed to build is not a failure of its own). A build that did
    not pass the gate is the gate's incident, not this one: ``unknown`` until a build
    passes (one problem, one incident)."""
    history = store.build_history()
    if not history:
        return None
    build = history[0]
    results = [r for r in store.check_results(build.run_id) if r.status != "skipped"]
    if not results:
        return None
    limit = monitors.checks.min_pass_rate
    blocking = {"fail", "error"} | ({"warn"} if block_on_warn else set())
    if any(r.status in blocking for r in results):
        return Finding(
            "checks",
            PUBLISHED,
            "unknown",
            f"the build of run {build.run_id} did not pass the quality gate "
            "(its gate_failed incident tells); judged again after a build that passes",
            expected={"min_pass_rate": limit},
            severity="warn",
        )
    passed = sum(1 for r in results if r.status == "pass")
    rate = passed / len(results)
    failing = [r.name for r in results if r.status != "pass"]
    return Finding(
        "checks",
        PUBLISHED,
        "ok" if rate >= limit else "breach",
        f"{passed} of {len(results)} checks passed in run {build.run_id} ({rate:.1%}; "
        f"target {limit:.1%})"
        + (f": {', '.join(failing[:3])}" if failing and rate < limit else ""),
        observed=rate,
        expected={"min_pass_rate": limit},
        severity="warn",
        event_at=build.ended_at if rate < limit else None,
    )


def human(delta: timedelta) -> str:
    """A duration for people: ``45 s``, ``12 min``, ``3.5 h``, ``2.0 days``."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
