"""Replay: rebuild the warehouse's raw tables from the lake alone (no source is read).

Every complete batch of the selected entities is checked first (manifest present,
files present with their checksums), then loaded into new raw tables that replace the
old ones only when all have loaded: a missing or corrupt batch fails the replay naming
it, and the warehouse is left as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from basin.common.logging import get_logger
from basin.config import select_entities
from basin.pipeline.resources import Resources
from basin.pipeline.runs import StepOutcome
from basin.pipeline.steps.load import batches_of, declared_indexes

if TYPE_CHECKING:
    from basin.warehouses.base import LoadResult

log = get_logger(__name__)


def replay(
    res: Resources, run_id: str, select: list[str] | None, only: set[str] | None = None
) -> StepOutcome[list[LoadResult]]:
    """``only``: replay just these batches (a drill rebuilds what a warehouse held)."""
    pairs = select_entities(res.project.config, select)
    plan = [
        (
            s,
            e,
            [
                b
                for b in batches_of(res, s, e, verify=True)
                if only is None or b[0].batch_id in only
            ],
        )
        for s, e in pairs
    ]
    wh = res.warehouse
    wh.claim([wh.raw_schema, wh.ledger_schema], create=True)
    with res.reporter.task("replay", total=sum(len(b) for _, _, b in plan)) as task:
        loaded = res.warehouse.replay(plan, run_id, lambda _r: task.advance())
    tables = sorted({_relation(r.table) for r in loaded})
    res.warehouse.after_load(
        [f"{schema}.{table}" for schema, table in tables], declared_indexes(res, pairs)
    )
    counts = res.warehouse.row_counts(tables)
    for schema, table in tables:
        # What the table holds now: a replace batch (a full extract) drops the earlier rows.
        rows = counts.get((schema.lower(), table.lower()))
        log.info("%s.%s: %s rows", schema, table, "?" if rows is None else f"{rows:,}")
    by_batch = {r.batch_id: r for r in loaded}
    for source, entity, batches in plan:
        with res.lineage.step(f"load.{source}.{entity}", run_id, res.command) as step:
            for manifest, _ in batches:
                r = by_batch[manifest.batch_id]
                res.track("loaded", step, run_id, manifest, r.table, r.rows)
                res.store.record_load(r.batch_id, res.warehouse.identity, run_id, r.table, r.rows)
    return StepOutcome(
        "replay",
        loaded,
        rows=sum(r.rows for r in loaded),
        detail={"batches": [r.batch_id for r in loaded]},
    )


def _relation(qualified: str) -> tuple[str, str]:
    schema, _, table = qualified.partition(".")
    return schema, table
