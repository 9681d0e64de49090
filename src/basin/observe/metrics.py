"""Prometheus metrics of one project and environment, read from the metadata store at
each scrape (Basin's commands are short-lived processes: the store is the memory).

Names follow Prometheus's conventions: ``basin_`` prefix, base units in the name
(``_seconds``, ``_timestamp_seconds``), ``_total`` on counters, labels for what varies.
Exposed by ``basin metrics --serve`` on 127.0.0.1 and written after every run as a
textfile for node-exporter's textfile collector.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from basin.config.models import ProjectConfig
    from basin.metadata.store import MetadataStore

METRICS = {
    "basin_runs_total": "Runs of each command by final status.",
    "basin_last_run_duration_seconds": "Duration of the newest finished run of each command.",
    "basin_last_run_end_timestamp_seconds": "When the newest run of each command ended.",
    "basin_last_run_success": "1 if the newest run of each command succeeded, else 0.",
    "basin_step_duration_seconds": "Duration of the newest finished step of each name.",
    "basin_step_rows": "Rows the newest finished step of each name handled.",
    "basin_batches_total": "Complete lake batches of each source entity.",
    "basin_extracted_rows_total": "Rows extracted into the lake, by source entity.",
    "basin_quarantined_rows_total": "Rows quarantined while extracting, by source entity.",
    "basin_checks": "Checks of the newest build, by outcome.",
    "basin_check_pass_ratio": "Share of the newest build's checks that passed.",
    "basin_monitor_breach": "1 if the monitor's newest evaluation breached, else 0.",
    "basin_freshness_seconds": "Age of the newest data (source entity) or publication.",
    "basin_incidents_open": "Open incidents by kind and severity.",
    "basin_publication_timestamp_seconds": "When the newest publication was made.",
    "basin_published_rows": "Rows of each published table at the newest publication.",
    "basin_slo_attainment_ratio": "Share of good events of each objective over each window.",
    "basin_slo_error_budget_remaining_ratio": "Share of each objective's error budget left.",
    "basin_slo_burn_rate": "Failures of each objective as a multiple of what it allows.",
}
"""Every metric Basin exposes, with its help text (the Grafana dashboard may use these
names only: a test checks it)."""


class StoreCollector:
    """A prometheus-client collector reading the metadata store at each collection."""

    def __init__(
        self, store: MetadataStore, project: str, env: str, config: ProjectConfig | None = None
    ) -> None:
        self.store = store
        self.labels = {"project": project, "env": env}
        self.config = config

    def describe(self) -> list[Any]:
        return []  # collected on demand; no metric is registered ahead

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        fixed = list(self.labels)

        def family(name: str, labels: list[str]) -> Any:
            kind = CounterMetricFamily if name.endswith("_total") else GaugeMetricFamily
            return kind(name.removesuffix("_total"), METRICS[name], labels=fixed + labels)

        def add(metric: Any, values: list[str], value: float) -> None:
            metric.add_metric(list(self.labels.values()) + values, value)

        store = self.store
        runs = family("basin_runs_total", ["command", "status"])
        for command, status, n in store.run_counts():
            add(runs, [command, status], n)
        duration = family("basin_last_run_duration_seconds", ["command"])
        ended = family("basin_last_run_end_timestamp_seconds", ["command"])
        success = family("basin_last_run_success", ["command"])
        for run in store.last_runs():
            if run.ended_at is None:
                continue
            add(duration, [run.command], (run.ended_at - run.started_at).total_seconds())
            add(ended, [run.command], run.ended_at.timestamp())
            add(success, [run.command], 1.0 if run.status == "success" else 0.0)
        steps = family("basin_step_duration_seconds", ["step"])
        step_rows = family("basin_step_rows", ["step"])
        for step in store.last_steps():
            if step.ended_at is not None:
                add(steps, [step.name], (step.ended_at - step.started_at).total_seconds())
            if step.rows is not None:
                add(step_rows, [step.name], float(step.rows))
        batches = family("basin_batches_total", ["source", "entity"])
        extracted = family("basin_extracted_rows_total", ["source", "entity"])
        quarantined = family("basin_quarantined_rows_total", ["source", "entity"])
        for source, entity, n, rows, bad in store.entity_totals():
            add(batches, [source, entity], n)
            add(extracted, [source, entity], rows)
            add(quarantined, [source, entity], bad)
        yield from (runs, duration, ended, success, steps, step_rows)
        yield from (batches, extracted, quarantined)
        yield from self._checks(family, add)
        yield from self._monitors(family, add)
        yield from self._incidents_and_publication(family, add)
        if self.config is not None:
            yield from self._slos(family, add)

    def _slos(self, family: Any, add: Any) -> Iterator[Any]:
        from basin.metadata.store import utcnow
        from basin.observe.slos import evaluate

        assert self.config is not None
        attained = family("basin_slo_attainment_ratio", ["slo", "window_days"])
        left = family("basin_slo_error_budget_remaining_ratio", ["slo", "window_days"])
        burn = family("basin_slo_burn_rate", ["slo", "window_days"])
        for w in evaluate(self.config, self.store, utcnow()):
            if w.attainment is None:
                continue
            labels = [w.slo, str(w.days)]
            add(attained, labels, w.attainment)
            add(left, labels, w.budget_left)
            add(burn, labels, w.burn_rate)
        yield from (attained, left, burn)

    def _checks(self, family: Any, add: Any) -> Iterator[Any]:
        checks = family("basin_checks", ["status"])
        ratio = family("basin_check_pass_ratio", [])
        history = self.store.build_history()
        if history:
            results = self.store.check_results(history[0].run_id)
            counts: dict[str, int] = {}
            for r in results:
                counts[r.status] = counts.get(r.status, 0) + 1
            for status, n in sorted(counts.items()):
                add(checks, [status], n)
            if results:
                add(ratio, [], counts.get("pass", 0) / len(results))
        yield checks
        yield ratio

    def _monitors(self, family: Any, add: Any) -> Iterator[Any]:
        breach = family("basin_monitor_breach", ["monitor", "target"])
        fresh = family("basin_freshness_seconds", ["target"])
        seen: set[tuple[str, str]] = set()
        for r in self.store.monitor_results(limit=2000):  # newest first
            if (r.monitor, r.target) in seen:
                continue
            seen.add((r.monitor, r.target))
            if r.status != "unknown":
                add(breach, [r.monitor, r.target], 1.0 if r.status == "breach" else 0.0)
            if r.monitor == "freshness" and r.observed is not None:
                add(fresh, [r.target], r.observed)
        yield breach
        yield fresh

    def _incidents_and_publication(self, family: Any, add: Any) -> Iterator[Any]:
        incidents = family("basin_incidents_open", ["kind", "severity"])
        counts: dict[tuple[str, str], int] = {}
        for i in self.store.incidents(open_only=True, limit=10_000):
            counts[(i.kind, i.severity)] = counts.get((i.kind, i.severity), 0) + 1
        for (kind, severity), n in sorted(counts.items()):
            add(incidents, [kind, severity], n)
        published = family("basin_publication_timestamp_seconds", [])
        table_rows = family("basin_published_rows", ["table"])
        last = self.store.last_publication()
        if last is not None:
            add(published, [], last.published_at.timestamp())
            for table, rows in sorted(json.loads(last.tables or "{}").items()):
                add(table_rows, [table], float(rows))
        yield incidents
        yield published
        yield table_rows


def registry(environments: Iterable[tuple[MetadataStore, ProjectConfig, str]]) -> Any:
    """A registry reading the stores of these environments (each labelled ``env``)."""
    from prometheus_client import CollectorRegistry

    reg = CollectorRegistry(auto_describe=False)
    for store, config, env in environments:
        reg.register(StoreCollector(store, config.project, env, config))
    return reg


def exposition(store: MetadataStore, config: ProjectConfig, env: str) -> str:
    """The metrics in Prometheus's text format."""
    from prometheus_client import generate_latest

    return generate_latest(registry([(store, config, env)])).decode()


def write_textfile(path: Path, text: str) -> None:
    """Replace ``path`` at once (node-exporter must never read half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
