"""Service-level objectives: job success, freshness of the published marts, data
quality — each one's attainment and error budget over rolling windows, from the
metadata store (Google SRE's practice: the budget is the failures the target allows;
the burn rate is how fast they are being spent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from basin.common.types import parse_duration

if TYPE_CHECKING:
    from basin.config.models import ProjectConfig
    from basin.metadata.store import MetadataStore
    from basin.observe.monitors import Finding

NOT_RUNS = frozenset({"release"})
"""Commands recorded as runs that are not the pipeline doing its job."""


@dataclass
class Window:
    """One SLO over one window: ``good`` of ``total`` events."""

    slo: str
    days: int
    target: float
    good: int
    total: int
    runs: int = 0
    """Runs (or scheduled times) the events come from: the sample size that decides
    whether the window is judged (data quality has many checks per run)."""

    def __post_init__(self) -> None:
        self.runs = self.runs or self.total

    @property
    def attainment(self) -> float | None:
        return self.good / self.total if self.total else None

    @property
    def budget_left(self) -> float | None:
        """Share of the error budget not spent (negative: overspent)."""
        if not self.total:
            return None
        allowed = (1 - self.target) * self.total
        return 1 - (self.total - self.good) / allowed

    @property
    def burn_rate(self) -> float | None:
        """Failures as a multiple of what the target allows (1.0: on budget)."""
        if not self.total:
            return None
        return ((self.total - self.good) / self.total) / (1 - self.target)


def evaluate(config: ProjectConfig, store: MetadataStore, now: datetime) -> list[Window]:
    """Every SLO over every configured window."""
    slos = config.slos
    out = []
    for days in sorted(set(slos.windows_days)):
        since = now - timedelta(days=days)
        runs = [
            status
            for command, status, _ in store.run_outcomes_since(since)
            if command not in NOT_RUNS and status != "running"
        ]
        out.append(Window("job_success", days, slos.job_success, runs.count("success"), len(runs)))
        checks = store.check_counts_since(since)
        out.append(
            Window(
                "data_quality",
                days,
                slos.data_quality,
                checks.get("pass", 0),
                sum(n for status, n in checks.items() if status != "skipped"),
                runs=store.checked_runs_since(since),
            )
        )
        schedule = config.orchestration.schedule
        first = store.first_run_at()
        if schedule and first is not None:
            # Scheduled times before the environment's first run promised nothing (the
            # one that run served, at most fresh_within before it, counts).
            within = parse_duration(slos.fresh_within)
            start = max(since, first - within)
            good, total = _fresh(schedule, store, start, now, within)
            out.append(Window("freshness", days, slos.freshness, good, total))
    return out


def _fresh(
    schedule: str, store: MetadataStore, since: datetime, now: datetime, within: timedelta
) -> tuple[int, int]:
    """Scheduled times in ``[since, now - within]`` followed by a publication within
    ``within``: ``(good, total)``."""
    import importlib

    croniter = importlib.import_module("croniter").croniter
    published = store.publication_times_since(since)
    it = croniter(schedule, since)
    good = total = 0
    while True:
        due: datetime = it.get_next(datetime)
        if due + within > now:
            break
        total += 1
        if any(due <= p <= due + within for p in published):
            good += 1
    return good, total


def burning(config: ProjectConfig, windows: list[Window]) -> list[Window]:
    """The SLOs whose budget over the longest window burns at ``slos.burn_alert`` or
    faster, judged once the window holds ``slos.min_events`` events (one failure among
    three runs is noise, not a trend)."""
    if not windows:
        return []
    longest = max(w.days for w in windows)
    return [
        w
        for w in windows
        if w.days == longest
        and w.runs >= config.slos.min_events
        and w.burn_rate is not None
        and w.burn_rate >= config.slos.burn_alert
    ]


def findings(config: ProjectConfig, windows: list[Window]) -> list[Finding]:
    """One finding per SLO, judged on its longest window: a burning budget breaches
    (and opens an incident); too few events yet is ``unknown``."""
    from basin.observe.monitors import Finding

    hot = {w.slo for w in burning(config, windows)}
    out = []
    for w in windows:
        if w.days != max(x.days for x in windows if x.slo == w.slo):
            continue
        if w.attainment is None or w.runs < config.slos.min_events:
            status = "unknown"
            message = (
                f"{w.slo}: {w.runs} run(s) in {w.days} days, {config.slos.min_events} needed "
                "to judge it"
            )
        else:
            status = "breach" if w.slo in hot else "ok"
            message = (
                f"{w.slo}: {w.attainment:.2%} over {w.days} days (target {w.target:.2%}); "
                f"error budget {'burning at ' + format(w.burn_rate or 0, '.1f') + 'x' if status == 'breach' else 'left ' + format(w.budget_left or 0, '.0%')}"
            )
        out.append(
            Finding(
                "slo",
                w.slo,
                status,
                message,
                observed=w.attainment,
                expected={"target": w.target, "days": w.days},
                severity="warn",
            )
        )
    return out
