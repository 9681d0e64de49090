"""Load: every complete lake batch not yet in the warehouse, exactly once, in order.

The warehouse's ledger says which batches are loaded (the load of a batch and its
ledger entry commit together). An entity whose batch cannot be loaded stops there —
its later batches wait, order matters — and the other entities go on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from basin.common import faults
from basin.common.errors import LoadError, WarehouseUnavailable
from basin.common.logging import get_logger, log_context
from basin.config import select_entities
from basin.pipeline.resources import Resources
from basin.pipeline.runs import StepOutcome, entity_failure, retrying

if TYPE_CHECKING:
    from basin.lake.manifest import Manifest
    from basin.warehouses.base import LoadResult

log = get_logger(__name__)

T = TypeVar("T")

Batches = list[tuple["Manifest", list[str]]]


def load(res: Resources, run_id: str, select: list[str] | None) -> StepOutcome[list[LoadResult]]:
    """Load what is new of each selected entity; raises after all have been tried if
    any entity could not be loaded."""
    pairs = select_entities(res.project.config, select)
    wh = res.warehouse
    reaching_warehouse(res, lambda: wh.claim([wh.raw_schema, wh.ledger_schema], create=True))
    done = reaching_warehouse(res, wh.loaded_batch_ids)
    failures: list[str] = []
    pending: list[tuple[str, str, Batches]] = []
    for source, entity in pairs:
        try:
            batches = [b for b in batches_of(res, source, entity) if b[0].batch_id not in done]
        except LoadError as exc:
            failures.append(entity_failure(source, entity, exc))
            continue
        if batches:
            pending.append((source, entity, batches))
    results: list[LoadResult] = []
    with res.reporter.task("load", total=sum(len(b) for _, _, b in pending)) as task:
        for source, entity, batches in pending:
            task.update(description=f"load {source}.{entity}")
            with log_context(source=source, entity=entity):
                loaded, error = _entity(res, run_id, source, entity, batches, task.advance)
            results += loaded
            if error is not None:
                failures.append(entity_failure(source, entity, error))
    res.warehouse.after_load(
        sorted({r.table for r in results if not r.skipped}), declared_indexes(res, pairs)
    )
    if not pending and not failures:
        log.info("nothing new to load")
    if failures:
        raise LoadError(
            f"{len(failures)} of {len(pairs)} entities could not be loaded:\n  "
            + "\n  ".join(failures),
            hint="the other entities' batches are loaded; fix the batch named and run "
            "`basin load` again",
        )
    loaded = [r for r in results if not r.skipped]
    return StepOutcome(
        "load",
        results,
        rows=sum(r.rows for r in loaded),
        detail={"batches": [r.batch_id for r in loaded]},
    )


def _entity(
    res: Resources,
    run_id: str,
    source: str,
    entity: str,
    batches: Batches,
    advance: Callable[[], None],
) -> tuple[list[LoadResult], LoadError | None]:
    """An entity's new batches, oldest first: those loaded, and the error of the
    first that failed (which stops the entity: its later batches wait)."""
    results: list[LoadResult] = []
    for manifest, urls in batches:
        try:
            with res.lineage.step(f"load.{source}.{entity}", run_id, res.command) as step:
                result = reaching_warehouse(
                    res, partial(res.warehouse.load_batch, manifest, urls, run_id)
                )
                res.track("loaded", step, run_id, manifest, result.table, result.rows)
        except LoadError as exc:
            log.error("%s.%s failed: %s", source, entity, exc.message)
            return results, exc
        faults.point("load.before_record")
        if not result.skipped:
            res.store.record_load(
                manifest.batch_id, res.warehouse.identity, run_id, result.table, result.rows
            )
            log.info("%s: +%d rows (batch %s)", result.table, result.rows, manifest.batch_id)
        results.append(result)
        advance()
    return results, None


def batches_of(res: Resources, source: str, entity: str, *, verify: bool = False) -> Batches:
    """Every complete batch of an entity, oldest first, with its data files.

    The lake's manifests are the batches; the metadata store says which must be
    there. A batch the store knows as complete whose manifest or files are missing
    or corrupt raises (naming it) instead of being skipped: skipping it would lose
    its rows without a word.
    """
    manifests = res.lake.complete_batches(source, entity)
    found = {m.batch_id for m in manifests}
    for batch in res.store.batches(source, entity, status="complete"):
        if batch.batch_id not in found:
            raise LoadError(
                f"batch {batch.batch_id} of {source}.{entity} is complete in the metadata "
                f"store but its manifest {batch.path}/_manifest.json is missing",
                hint="restore the batch folder from a backup; or, to give its rows up, "
                f"re-extract the entity with `basin extract --select {source}.{entity} "
                "--full-refresh`",
            )
    return [(m, res.lake.data_files(m, verify=verify)) for m in manifests]


def reaching_warehouse(res: Resources, fn: Callable[[], T]) -> T:
    """``fn()``, tried again while the warehouse server cannot be reached.

    Only WarehouseUnavailable is retried, which engines raise when connecting,
    before any transaction begins: a retried load cannot load a batch twice.
    """
    return retrying(
        fn,
        attempts=res.project.config.load.retry_attempts,
        what="warehouse",
        only=WarehouseUnavailable,
    )


def declared_indexes(res: Resources, pairs: list[tuple[str, str]]) -> dict[str, list[list[str]]]:
    """``raw.<table>`` → the indexes its entity declares (``indexes:`` in basin.yml)."""
    from basin.sources.base import entity_model
    from basin.warehouses.base import raw_table_name

    out = {}
    for source, entity in pairs:
        model = entity_model(res.project.config.sources[source], entity)
        if model is not None and getattr(model, "indexes", None):
            table = f"{res.warehouse.raw_schema}.{raw_table_name(source, entity)}"
            out[table] = list(model.indexes)
    return out
