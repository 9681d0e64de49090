"""What the web UI's pages show, read from the metadata store (never the warehouse).

Each function runs a handful of indexed queries, so a page stays fast however long
the history grows (bench/web_pages.py measures it with 10,000 runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from basin.metadata.models import (
    AlertDelivery,
    Batch,
    CatalogDataset,
    CheckResult,
    Incident,
    LineageEdge,
    Publication,
    Run,
    Step,
)
from basin.metadata.store import MetadataStore

FAILED = ("fail", "error")


@dataclass
class Page:
    """One page of a long list."""

    items: list[Any]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _json(text: str | None, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


# --- overview and runs -------------------------------------------------------------


def overview(store: MetadataStore) -> dict[str, Any]:
    """The newest runs, what is published, open incidents and the newest checks' verdict."""
    with store.session() as s:
        open_incidents = s.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.env == store.env, Incident.resolved_at.is_(None))
        )
    latest = latest_checks(store)
    counts: dict[str, int] = {}
    for r in latest["results"]:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {
        "runs": runs_page(store, 1, 10).items,
        "publication": publication(store),
        "open_incidents": int(open_incidents or 0),
        "checks": counts,
        "checks_run": latest["run_id"],
    }


def runs_page(
    store: MetadataStore,
    page: int,
    size: int,
    *,
    status: str | None = None,
    command: str | None = None,
) -> Page:
    """Runs newest first, with their duration."""
    where = [Run.env == store.env]
    if status:
        where.append(Run.status == status)
    if command:
        where.append(Run.command == command)
    with store.session() as s:
        total = int(s.scalar(select(func.count()).select_from(Run).where(*where)) or 0)
        runs = list(
            s.scalars(
                select(Run)
                .where(*where)
                .order_by(Run.started_at.desc(), Run.run_id.desc())
                .offset((page - 1) * size)
                .limit(size)
            )
        )
    return Page([(r, _seconds(r.started_at, r.ended_at)) for r in runs], total, page, size)


def run_commands(store: MetadataStore) -> list[str]:
    with store.session() as s:
        return sorted(s.scalars(select(Run.command).where(Run.env == store.env).distinct()))


@dataclass
class Bar:
    """One row of a run's timeline: where it starts and how long it lasts, in % of the run."""

    label: str
    kind: str  # step | entity | model
    status: str
    left: float
    width: float
    seconds: float | None
    detail: str = ""


@dataclass
class RunDetail:
    run: Run
    seconds: float | None
    steps: list[tuple[Step, float | None]]
    timeline: list[Bar]
    models: list[dict[str, Any]]
    checks: dict[str, int]
    failed_checks: list[CheckResult]
    batches: list[Batch]
    publication: Publication | None


def run_detail(store: MetadataStore, run_id: str) -> RunDetail | None:
    """A run with its steps, the entities it extracted, the dbt nodes it built and the
    checks it ran, laid out on one timeline."""
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is None or run.env != store.env:
            return None
        steps = list(s.scalars(select(Step).where(Step.run_id == run_id).order_by(Step.id)))
        batches = list(
            s.scalars(select(Batch).where(Batch.run_id == run_id).order_by(Batch.created_at))
        )
        checks = {
            str(st): int(n)
            for st, n in s.execute(
                select(CheckResult.status, func.count())
                .where(CheckResult.run_id == run_id)
                .group_by(CheckResult.status)
            )
        }
        failed = list(
            s.scalars(
                select(CheckResult)
                .where(CheckResult.run_id == run_id, CheckResult.status.in_([*FAILED, "warn"]))
                .order_by(CheckResult.status, CheckResult.name)
            )
        )
        published = s.scalar(
            select(Publication).where(Publication.run_id == run_id, Publication.env == store.env)
        )
    details = {st.id: _json(st.detail, {}) for st in steps}
    models = [
        {
            "unique_id": m[0],
            "name": m[0].split(".", 2)[-1],
            "status": m[1],
            "started_at": _parse_time(m[2]),
            "seconds": m[3],
            "rows": m[4],
        }
        for st in steps
        if st.name in ("transform", "build")
        for m in (details[st.id].get("models") or [])
        if isinstance(m, list) and len(m) >= 5
    ]
    return RunDetail(
        run=run,
        seconds=_seconds(run.started_at, run.ended_at),
        steps=[(st, _seconds(st.started_at, st.ended_at)) for st in steps],
        timeline=_timeline(run, steps, batches, models),
        models=models,
        checks=checks,
        failed_checks=failed,
        batches=batches,
        publication=published,
    )


def _parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _timeline(
    run: Run, steps: list[Step], batches: list[Batch], models: list[dict[str, Any]]
) -> list[Bar]:
    """Steps, then under extract each entity's batch and under transform each dbt node,
    placed on the run's time axis."""
    ends = [t for t in [run.ended_at, *(st.ended_at for st in steps)] if t]
    start = run.started_at
    end = max(ends) if ends else None
    if end is None or end <= start:
        return []
    span = (end - start).total_seconds()

    def bar(
        label: str, kind: str, status: str, a: datetime, b: datetime | None, detail: str = ""
    ) -> Bar:
        b = b or end
        left = max(0.0, (a - start).total_seconds() / span * 100)
        width = max(0.4, (b - a).total_seconds() / span * 100)
        return Bar(
            label,
            kind,
            status,
            round(left, 2),
            round(min(width, 100 - left), 2),
            _seconds(a, b),
            detail,
        )

    bars = []
    for st in steps:
        bars.append(bar(st.name, "step", st.status, st.started_at, st.ended_at))
        if st.name in ("extract", "release"):
            for b in batches:
                detail = f"{b.row_count or 0:,} rows" if b.row_count is not None else ""
                bars.append(
                    bar(
                        f"{b.source}.{b.entity}",
                        "entity",
                        b.status,
                        b.created_at,
                        b.completed_at,
                        detail,
                    )
                )
        if st.name in ("transform", "build"):
            for m in models:
                if m["started_at"] is None:
                    continue
                finish = m["started_at"] + timedelta(seconds=float(m["seconds"] or 0))
                bars.append(bar(m["name"], "model", m["status"], m["started_at"], finish))
    return bars


def publication(store: MetadataStore) -> dict[str, Any] | None:
    """What consumers read now: the newest publication with its tables and row counts."""
    last = store.last_publication()
    if last is None:
        return None
    return {
        "run_id": last.run_id,
        "published_at": last.published_at,
        "location": last.location,
        "tables": _json(last.tables, {}),
    }


# --- tables ------------------------------------------------------------------------


def tables(store: MetadataStore) -> dict[str, Any]:
    """Published tables (rows, description, when published) and each source entity's
    freshness: its newest complete batch, with that batch's rows."""
    pub = publication(store)
    with store.session() as s:
        catalog = {
            d.key: d
            for d in s.scalars(
                select(CatalogDataset).where(
                    CatalogDataset.env == store.env, CatalogDataset.kind == "published"
                )
            )
        }
        newest = (
            select(
                Batch.source,
                Batch.entity,
                func.max(Batch.completed_at).label("at"),
                func.count().label("batches"),
            )
            .where(Batch.env == store.env, Batch.status == "complete")
            .group_by(Batch.source, Batch.entity)
            .order_by(Batch.source, Batch.entity)
        )
        sources = [dict(r._mapping) for r in s.execute(newest)]
        for source in sources:  # the newest batch's rows: one index lookup each
            last = s.execute(
                select(Batch.row_count, Batch.quarantined_rows)
                .where(
                    Batch.env == store.env,
                    Batch.source == source["source"],
                    Batch.entity == source["entity"],
                    Batch.status == "complete",
                )
                .order_by(Batch.completed_at.desc())
                .limit(1)
            ).first()
            source["rows"], source["quarantined"] = (last[0], last[1]) if last else (None, None)
    published = []
    for name, rows in sorted((pub or {}).get("tables", {}).items()):
        entry = catalog.get(f"published.{name}")
        published.append(
            {
                "name": name,
                "key": f"published.{name}",
                "rows": rows,
                "description": entry.description if entry else None,
                "columns": len(_json(entry.columns, [])) if entry else None,
                "owner": entry.owner if entry else None,
            }
        )
    return {"publication": pub, "published": published, "sources": sources}


# --- quality -----------------------------------------------------------------------


def latest_checks(store: MetadataStore, status: str | None = None) -> dict[str, Any]:
    """The results of the newest run that ran checks (what the gate judged last)."""
    with store.session() as s:
        newest = s.scalar(
            select(CheckResult.run_id)
            .where(CheckResult.env == store.env)
            .order_by(CheckResult.id.desc())
            .limit(1)
        )
        if newest is None:
            return {"run_id": None, "results": [], "checked_at": None}
        q = select(CheckResult).where(CheckResult.run_id == newest)
        if status:
            q = q.where(CheckResult.status == status)
        results = list(s.scalars(q))
    order = {"error": 0, "fail": 1, "warn": 2, "pass": 3}
    results.sort(key=lambda r: (order.get(r.status, 4), r.model or "", r.name))
    return {
        "run_id": newest,
        "results": results,
        "checked_at": max((r.checked_at for r in results), default=None),
    }


def check_history(store: MetadataStore, unique_id: str, limit: int = 60) -> dict[str, Any] | None:
    """One check's results, newest first, and the newest sample of failing rows."""
    with store.session() as s:
        results = list(
            s.scalars(
                select(CheckResult)
                .where(CheckResult.env == store.env, CheckResult.unique_id == unique_id)
                .order_by(CheckResult.id.desc())
                .limit(limit)
            )
        )
        if not results:
            return None
        sampled = s.scalar(
            select(CheckResult)
            .where(
                CheckResult.env == store.env,
                CheckResult.unique_id == unique_id,
                CheckResult.sample.is_not(None),
            )
            .order_by(CheckResult.id.desc())
            .limit(1)
        )
    sample = _json(sampled.sample, None) if sampled else None
    return {
        "check": results[0],
        "results": results,
        "sample": sample if isinstance(sample, dict) and "columns" in sample else None,
        "sampled": sampled,
    }


# --- lineage and catalog -----------------------------------------------------------


def _kind(key: str) -> str:
    head = key.split(".", 1)[0]
    return head if head in ("source", "lake", "published") else "warehouse"


def lineage_graph(store: MetadataStore) -> dict[str, Any]:
    """Datasets and the table-level edges between them, for the graph."""
    with store.session() as s:
        kinds = {
            k: kind
            for k, kind in s.execute(
                select(CatalogDataset.key, CatalogDataset.kind).where(
                    CatalogDataset.env == store.env
                )
            )
        }
        edges = {
            (str(up), str(down))
            for down, up in s.execute(
                select(LineageEdge.dataset, LineageEdge.upstream_dataset)
                .where(LineageEdge.env == store.env)
                .distinct()
            )
            if up != down
        }
    names = set(kinds) | {n for e in edges for n in e}
    return {
        "nodes": [
            {"id": n, "label": n, "kind": kinds.get(n) or _kind(n), "layer": _kind(n)}
            for n in sorted(names)
        ],
        "edges": [{"source": a, "target": b} for a, b in sorted(edges)],
    }


def column_lineage(store: MetadataStore, key: str) -> dict[str, Any] | None:
    """A dataset's columns, each with the columns that feed it and the ones it feeds."""
    with store.session() as s:
        entry = s.get(CatalogDataset, {"key": key, "env": store.env})
        edges = list(
            s.scalars(
                select(LineageEdge).where(
                    LineageEdge.env == store.env,
                    or_(LineageEdge.dataset == key, LineageEdge.upstream_dataset == key),
                )
            )
        )
    if entry is None and not edges:
        return None
    columns: dict[str, dict[str, Any]] = {}
    for c in _json(entry.columns if entry else None, []):
        c = list(c) + [None] * (3 - len(c))
        columns[c[0]] = {"name": c[0], "type": c[1], "description": c[2], "up": [], "down": []}

    def col(name: str) -> dict[str, Any]:
        return columns.setdefault(
            name, {"name": name, "type": None, "description": None, "up": [], "down": []}
        )

    upstream, downstream = set(), set()
    for e in edges:
        if e.dataset == key:
            upstream.add(e.upstream_dataset)
            if e.column_name:
                col(e.column_name)["up"].append((e.upstream_dataset, e.upstream_column, e.step))
        if e.upstream_dataset == key:
            downstream.add(e.dataset)
            if e.upstream_column:
                col(e.upstream_column)["down"].append((e.dataset, e.column_name, e.step))
    for c in columns.values():
        c["up"].sort(key=lambda t: (t[0], t[1] or ""))
        c["down"].sort(key=lambda t: (t[0], t[1] or ""))
    return {
        "key": key,
        "dataset": entry,
        "tags": _json(entry.tags if entry else None, []),
        "columns": list(columns.values()),
        "upstream": sorted(upstream - {key}),
        "downstream": sorted(downstream - {key}),
    }


def search(store: MetadataStore, text: str, limit: int = 200) -> list[dict[str, Any]]:
    """Datasets whose key, description, owner or tags contain ``text``, or that have a
    column whose name or description does; the matching columns named."""
    needle = text.strip().lower()
    with store.session() as s:
        entries = list(
            s.scalars(
                select(CatalogDataset)
                .where(CatalogDataset.env == store.env)
                .order_by(CatalogDataset.key)
            )
        )
    found = []
    for d in entries:
        columns = [list(c) + [None] * (3 - len(c)) for c in _json(d.columns, [])]
        hits = [c for c in columns if needle and needle in f"{c[0]} {c[2] or ''}".lower()]
        about = " ".join(str(x or "") for x in (d.key, d.description, d.owner, d.tags)).lower()
        if not needle or hits or needle in about:
            found.append({"dataset": d, "columns": columns, "hits": hits})
        if len(found) >= limit:
            break
    return found


# --- incidents ---------------------------------------------------------------------


def incidents_page(store: MetadataStore, page: int, size: int, *, open_only: bool) -> Page:
    where = [Incident.env == store.env]
    if open_only:
        where.append(Incident.resolved_at.is_(None))
    with store.session() as s:
        total = int(s.scalar(select(func.count()).select_from(Incident).where(*where)) or 0)
        items = list(
            s.scalars(
                select(Incident)
                .where(*where)
                .order_by(Incident.id.desc())
                .offset((page - 1) * size)
                .limit(size)
            )
        )
    return Page(items, total, page, size)


def incident(store: MetadataStore, incident_id: int) -> dict[str, Any] | None:
    found = store.incident(incident_id)
    if found is None or found.env != store.env:
        return None
    with store.session() as s:
        deliveries = list(
            s.scalars(
                select(AlertDelivery)
                .where(AlertDelivery.env == store.env, AlertDelivery.incident_id == incident_id)
                .order_by(AlertDelivery.id)
            )
        )
    return {"incident": found, "deliveries": deliveries}
