"""Earlier publications: which can be restored, and restoring one.

On DuckDB each publish keeps the snapshot it replaces in ``published/history/<run
id>/`` (``publish.keep`` newest). ``basin publish --restore RUN`` swaps a kept one back
in, each file in one rename, after keeping the current one — so a restore is undone
the same way — and records a new publication of the restored run's build (the run of
command ``restore`` says who restored it), so freshness and Superset's cache follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from basin.pipeline.runs import StepOutcome, single

if TYPE_CHECKING:
    from basin.pipeline.platform import Platform
    from basin.warehouses.base import PublishResult


@dataclass(frozen=True)
class Kept:
    run_id: str
    current: bool
    restorable: bool
    published_at: str | None
    tables: int | None


def listing(live: Platform) -> list[Kept]:
    """The publications the store knows and those kept on disk, newest first."""
    import json

    warehouse, store = live.warehouse, live.store
    restorable = set(warehouse.kept_publications())
    published = {
        p.run_id: (p.published_at.isoformat(timespec="seconds"), len(json.loads(p.tables or "{}")))
        for p in store.publications(limit=50)
    }
    last = store.last_publication()
    current = last.run_id if last is not None else None
    runs = sorted(set(published) | restorable, reverse=True)
    return [
        Kept(
            run_id=run,
            current=run == current,
            restorable=run in restorable,
            published_at=published.get(run, (None, None))[0],
            tables=published.get(run, (None, None))[1],
        )
        for run in runs
    ]


def restore(live: Platform, run_id: str) -> PublishResult:
    """Make the kept publication of ``run_id`` the published one again."""
    res = live.resources

    def step(rid: str) -> StepOutcome[PublishResult]:
        from basin.bi.superset.server import expire_cache

        result = res.warehouse.restore_publication(run_id)
        # The publication is the restored run's build again (the restore run's own
        # record says who restored it).
        res.store.record_publication(run_id, result.location, result.tables)
        expire_cache(res.project.root)  # Superset's cached data belongs to another one
        return StepOutcome(
            "restore",
            result,
            rows=sum(result.tables.values()),
            detail={"restored": run_id, "location": result.location},
        )

    return single(res, "restore", step)
