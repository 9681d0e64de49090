"""Extract: each selected source entity into a new lake batch, entities in parallel.

Each entity is locked on its own (Airflow runs one extract task per entity), recovers
batches a killed extract left half-written, refuses settings that changed under its
batches, and is retried while its source cannot be reached. One entity failing does
not stop the others.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from basin.common.errors import (
    BasinError,
    ContractError,
    ExtractError,
    RowsQuarantined,
    SourceUnavailable,
    TransientError,
)
from basin.common.logging import get_logger, log_context
from basin.config import select_entities
from basin.pipeline.resources import Resources
from basin.pipeline.runs import StepOutcome, entity_failure, retrying

if TYPE_CHECKING:
    from basin.sources.base import ExtractContext, ExtractResult

log = get_logger(__name__)


@dataclass(frozen=True)
class ExtractOptions:
    """The options of ``basin extract`` (see :meth:`Platform.extract`)."""

    full_refresh: bool = False
    """Forget the selected entities' state and extract everything."""
    since: str | None = None
    """Re-extract cursor-based entities from this cursor value on (a backfill)."""


def extract(
    res: Resources, run_id: str, select: list[str] | None, options: ExtractOptions
) -> StepOutcome[list[ExtractResult]]:
    """Extract what is new in each selected entity; raises after all have been tried
    if any failed (SourceUnavailable when every failure was an unreachable source)."""
    from concurrent.futures import ThreadPoolExecutor, as_completed
    from contextvars import copy_context

    from basin.pipeline.services import needed, running

    pairs = select_entities(res.project.config, select)
    _refuse_bad_options(res, pairs, select, options)
    ctx = _context(res, run_id, pairs, options)
    results: list[ExtractResult] = []
    failures: list[str] = []
    transient = broken = 0
    workers = max(1, min(len(pairs), res.project.config.extract.parallelism))
    services = running(
        needed(res.project.env.services, {source for source, _ in pairs}),
        res.project.root,
        res.project.state_path("logs"),
    )
    with res.reporter.task("extract", total=len(pairs)) as task, services, ctx.engine:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="basin-extract") as pool:
            futures = {
                pool.submit(copy_context().run, _entity, res, ctx, s, e): (s, e)
                for s, e in longest_first(res, pairs)
            }
            for future in as_completed(futures):
                source, entity = futures[future]
                try:
                    result = future.result()
                    results.append(result)
                    _say(res, result)
                except BasinError as exc:
                    transient += isinstance(exc, TransientError)
                    broken += isinstance(exc, ContractError)
                    failures.append(entity_failure(source, entity, exc))
                    log.error(
                        "%s.%s failed: %s",
                        source,
                        entity,
                        exc.message.removeprefix(f"{source}.{entity}: "),
                        extra={"source": source, "entity": entity},
                    )
                task.advance(description=f"extracted {source}.{entity}")
    if failures:
        # Only unreachable sources: worth retrying as a whole (Airflow does). Only broken
        # contracts: each batch is quarantined with its own incident already.
        kind: type[BasinError] = ExtractError
        if transient == len(failures):
            kind = SourceUnavailable
        elif broken == len(failures):
            kind = ContractError
        raise kind(
            f"{len(failures)} of {len(pairs)} entities failed to extract:\n  "
            + "\n  ".join(failures),
            hint="the other entities' batches are complete and will load"
            if len(failures) < len(pairs)
            else None,
        )
    _refuse_quarantine(res, results)
    return _outcome(results, pairs)


def longest_first(res: Resources, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The entities in the order they start: the ones whose last extraction took
    longest first, never extracted ones before all (their time is unknown), so no long
    entity starts last while the other workers idle (measured at scale 10: the REST
    entities, listed last, started after 2.5 s and the step took 4.9 s)."""
    seconds = res.store.last_extraction_seconds()
    return sorted(pairs, key=lambda pair: -seconds.get(pair, float("inf")))


def _outcome(
    results: list[ExtractResult], pairs: list[tuple[str, str]]
) -> StepOutcome[list[ExtractResult]]:
    """The step's outcome, its results in the order the entities were selected."""
    order = {p: i for i, p in enumerate(pairs)}
    results = sorted(results, key=lambda r: order.get((r.source, r.entity), 0))
    return StepOutcome(
        "extract",
        results,
        rows=sum(r.rows for r in results),
        detail={
            f"{r.source}.{r.entity}": {
                "batch_id": r.batch_id,
                "rows": r.rows,
                "quarantined": r.quarantined_rows,
            }
            for r in results
        },
    )


def _refuse_bad_options(
    res: Resources, pairs: list[tuple[str, str]], select: list[str] | None, options: ExtractOptions
) -> None:
    if options.full_refresh and not select:
        raise ExtractError(
            "--full-refresh needs --select: it resets each selected entity's state",
            hint="name the entities, e.g. --select crm.customers (or --select crm for a whole source)",
        )
    if options.since:
        files = [f"{s}.{e}" for s, e in pairs if res.project.config.sources[s].kind == "files"]
        if files:
            raise ExtractError(
                f"--since applies to cursor-based entities; {', '.join(files)} are file drops",
                hint="use --full-refresh to take a file entity's files again",
            )


def _context(
    res: Resources, run_id: str, pairs: list[tuple[str, str]], options: ExtractOptions
) -> ExtractContext:
    from basin.sources.base import ExtractContext, extractor_for
    from basin.sources.engine import ScanEngine

    scratch = res.project.state_path("tmp")
    scratch.mkdir(parents=True, exist_ok=True)
    # The scanners load in the background while the step records its batches.
    scanners = {
        getattr(extractor_for(s, res.project.config.sources[s]), "EXTENSION", None)
        for s in {s for s, _ in pairs}
    }
    return ExtractContext(
        lake=res.lake,
        store=res.store,
        run_id=run_id,
        scratch_dir=scratch,
        project_root=res.project.root,
        engine=ScanEngine(scratch, [x for x in scanners if x], prepare=res.lake.prepare),
        options={"full_refresh": options.full_refresh, "since": options.since},
    )


def _entity(res: Resources, ctx: ExtractContext, source: str, entity: str) -> ExtractResult:
    """One entity, retried while its database cannot be reached (REST sources retry
    each request themselves)."""
    with log_context(source=source, entity=entity):
        return retrying(
            lambda: _entity_attempt(res, ctx, source, entity),
            attempts=1
            if res.project.config.sources[source].kind == "rest"
            else res.project.config.extract.retry_attempts,
            what=f"{source}.{entity}",
        )


def _entity_attempt(res: Resources, ctx: ExtractContext, source: str, entity: str) -> ExtractResult:
    from basin.lineage.events import DatasetRef
    from basin.sources.base import extractor_for, fingerprint, recover_batches

    with res.store.locks.hold(
        res.lock_name((source, entity)),
        wait=res.wait,
        busy=lambda: f"{source}.{entity} is being extracted by another command",
    ):
        recover_batches(res.store, res.lake, source, entity)
        full_refresh = bool(ctx.options.get("full_refresh"))
        settings = _checked_settings(res, source, entity, full_refresh=full_refresh)
        if full_refresh:
            res.store.reset_entity(source, entity)
        extractor = extractor_for(source, res.project.config.sources[source])
        origin = DatasetRef(*extractor.dataset(entity, res.project.root))
        run_id = ctx.run_id or ""  # extraction always runs inside a recorded run
        with res.lineage.step(
            f"extract.{source}.{entity}", run_id, res.command, inputs=[origin]
        ) as step:
            result = extractor.extract(entity, ctx)
            res.track("extracted", step, run_id, source, entity, result.manifest)
        res.store.record_entity_config(source, entity, fingerprint(settings), settings)
        return result


def _checked_settings(
    res: Resources, source: str, entity: str, *, full_refresh: bool
) -> dict[str, Any]:
    """The entity's fingerprinted settings; raises if they changed since its batches
    were taken, unless this is the ``--full-refresh`` that re-baselines it."""
    from basin.sources.base import entity_settings, fingerprint

    settings = entity_settings(res.project.config.sources[source], entity)
    known = res.store.entity_config(source, entity)
    if (
        known is None
        or known.fingerprint == fingerprint(settings)
        or full_refresh
        or not res.store.batches(source, entity, status="complete")
    ):
        return settings
    before = json.loads(known.settings or "{}")
    changes = [
        f"{key} {before.get(key)!r} → {settings.get(key)!r}"
        for key in sorted(set(before) | set(settings))
        if before.get(key) != settings.get(key)
    ]
    raise ExtractError(
        f"{source}.{entity}: its extraction settings changed since its last batch "
        f"({'; '.join(changes)}): the lake and the raw table hold rows taken the old way, "
        "and extracting on would mix the two",
        hint=f"re-baseline it with `basin extract --select {source}.{entity} --full-refresh` "
        "(its raw table is replaced at the next load), or restore the old settings",
    )


def _say(res: Resources, r: ExtractResult) -> None:
    where = {"source": r.source, "entity": r.entity}
    if r.batch_id is None:
        level = logging.WARNING if r.attention else logging.INFO
        log.log(level, "%s.%s: %s", r.source, r.entity, r.note, extra=where)
        return
    origin = (
        f" from {r.inputs} file(s)" if res.project.config.sources[r.source].kind == "files" else ""
    )
    quarantined = f", {r.quarantined_rows} quarantined" if r.quarantined_rows else ""
    log.log(
        logging.WARNING if r.quarantined_rows else logging.INFO,
        "%s.%s: %d rows%s → batch %s%s",
        r.source,
        r.entity,
        r.rows,
        origin,
        r.batch_id,
        quarantined,
        extra=where,
    )
    for line in r.quarantined:
        log.warning("quarantined %s", line, extra=where)
    if r.quarantined_rows:
        log.info(
            "`basin quarantine show %s` lists them; once the settings are fixed, "
            "`basin quarantine release %s` reads them again",
            r.batch_id,
            r.batch_id,
            extra=where,
        )
    for line in r.warnings:
        log.warning("%s", line, extra=where)


def _refuse_quarantine(res: Resources, results: list[ExtractResult]) -> None:
    """With ``quarantine.fail_run``, quarantined rows fail the step (after the batches
    of good rows are complete)."""
    quarantined = [line for r in results for line in r.quarantined] or [
        f"{r.source}.{r.entity}: {r.quarantined_rows} row(s)" for r in results if r.quarantined_rows
    ]
    if quarantined and res.project.config.quarantine.fail_run:
        raise RowsQuarantined(
            "rows were quarantined (quarantine.fail_run is on):\n  " + "\n  ".join(quarantined),
            hint="the good rows are in the lake and load with the next run; look at the "
            "quarantined files, fix the source, or set quarantine.fail_run: false",
        )


def release(res: Resources, run_id: str, batch_id: str) -> StepOutcome[ExtractResult]:
    """Read a quarantined batch's records again, with the settings as they are now, into
    a new batch that the next load takes; each quarantined batch is released once."""
    from basin.lake.quarantine import listing
    from basin.lineage.events import DatasetRef
    from basin.sources.base import extractor_for, recover_batches

    found = [q for q in listing(res.lake) if q.batch_id == batch_id]
    if not found:
        raise ExtractError(
            f"no quarantined batch {batch_id}", hint="`basin quarantine list` shows their ids"
        )
    item = found[0]
    source, entity = item.source, item.entity
    if item.contract:
        raise ExtractError(
            f"{source}.{entity}: batch {batch_id} was quarantined whole for breaking its "
            f"schema contract ({item.contract.split(': ', 1)[-1]})",
            hint=f"fix the source, or accept the new schema with `basin extract --select "
            f"{source}.{entity} --full-refresh`",
        )
    pairs = select_entities(res.project.config, [f"{source}.{entity}"])
    ctx = _context(res, run_id, pairs, ExtractOptions())
    with (
        ctx.engine,
        log_context(source=source, entity=entity),
        res.store.locks.hold(
            res.lock_name((source, entity)),
            wait=res.wait,
            busy=lambda: f"{source}.{entity} is being extracted by another command",
        ),
    ):
        recover_batches(res.store, res.lake, source, entity)
        earlier = released_batches(res, source, entity).get(batch_id)
        if earlier:
            raise ExtractError(
                f"{source}.{entity}: batch {batch_id} was released already, into batch {earlier}",
                hint="records that failed again are quarantined in that batch: "
                f"`basin quarantine show {earlier}`, then release it",
            )
        extractor = extractor_for(source, res.project.config.sources[source])
        origin = DatasetRef(*extractor.dataset(entity, res.project.root))
        with res.lineage.step(
            f"release.{source}.{entity}", run_id, res.command, inputs=[origin]
        ) as step:
            result = extractor.release(entity, ctx, item)
            res.track("extracted", step, run_id, source, entity, result.manifest)
    _say(res, result)
    return StepOutcome(
        "release",
        result,
        rows=result.rows,
        detail={
            "released": batch_id,
            "batch_id": result.batch_id,
            "rows": result.rows,
            "quarantined": result.quarantined_rows,
        },
    )


def released_batches(res: Resources, source: str, entity: str) -> dict[str, str]:
    """Quarantined batch id → the batch its records were released into."""
    out = {}
    for batch in res.store.batches(source, entity):
        if batch.status not in ("complete", "writing"):
            continue
        for item in json.loads(batch.inputs or "[]"):
            if isinstance(item, dict) and item.get("released_from"):
                out[str(item["released_from"])] = batch.batch_id
    return out
