"""Publish: the audited marts become what consumers read, if the build passed the gate.

Write-audit-publish: dbt builds into audit schemas; publishing swaps them in atomically
(PostgreSQL: schemas in one transaction; Snowflake: ``SWAP WITH``; DuckDB: a new
snapshot file replaces the published one). A build that did not pass leaves the last
good publication in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from basin.common import faults
from basin.common.errors import GateClosed, PublishError
from basin.common.logging import get_logger
from basin.pipeline.resources import Resources
from basin.pipeline.runs import StepOutcome

if TYPE_CHECKING:
    from basin.warehouses.base import PublishResult

log = get_logger(__name__)

KEEP = "the last good publication stays in place"


def publish(res: Resources, run_id: str, accept: str | None = None) -> StepOutcome[PublishResult]:
    """Publish the build the gate lets through (``accept``: a run id to publish
    explicitly, e.g. a build held back for warnings)."""
    gate(res, accept)
    schemas = list(res.project.config.publish.schemas)
    wh = res.warehouse
    wh.claim([*schemas, *(s + wh.audit_suffix for s in schemas), wh.ledger_schema])
    with (
        res.reporter.task("publish", total=None),
        res.lineage.step("publish", run_id, res.command) as step,
    ):
        from basin.access.manage import publish_governance, publish_masked_copy

        masked_copy = publish_masked_copy(res.project)  # reads the build before publishing
        result = res.warehouse.publish(schemas, run_id, publish_governance(res.project, schemas))
        if masked_copy is not None:
            log.info("published with PII masked to %s", masked_copy(Path(result.location), run_id))
        faults.point("publish.before_record")
        audit = {s: s + res.warehouse.audit_suffix for s in schemas}
        res.track("published", step, run_id, result.tables, audit)
    res.store.record_publication(run_id, result.location, result.tables)
    # Superset's cached chart data belongs to the previous publication.
    from basin.bi.superset.server import expire_cache

    expire_cache(res.project.root)
    log.info("published %d table(s) to %s", len(result.tables), result.location)
    return StepOutcome(
        "publish",
        result,
        rows=sum(result.tables.values()),
        detail={"location": result.location, **result.detail},
    )


def gate(res: Resources, accept: str | None) -> str:
    """The run id of the build to publish, or a PublishError saying why not.

    A verdict belongs to one build, the newest ``transform`` of this environment: it
    must have built the whole project (no ``--select``) and passed, and no ``check``
    since may have failed. A later check that passes never turns a failed build into a
    passing one, and a partial build is never published: the audit schemas then hold a
    mix of builds that no single build tested.
    """
    history = res.store.build_history()
    if not history:
        raise GateClosed(
            "nothing audited to publish: no transform has run yet",
            hint="run `basin transform` (or `basin run`) until it passes",
        )
    build, checks = history[0], history[1:]
    last = build.run_id
    if accept is not None and last != accept:
        raise GateClosed(
            f"run {accept} is not the latest build in this warehouse (the latest is run {last})",
            hint="only the latest audited build can be published; `basin status` lists the runs",
        )
    if build.status != "success":
        raise GateClosed(
            f"nothing audited to publish: the last transform (run {last}) {build.status}",
            hint="fix it and run `basin transform` (or `basin run`) until it passes; " + KEEP,
        )
    selected = json.loads(build.detail or "{}").get("select")
    if selected:
        raise GateClosed(
            f"the last build (run {last}) was partial (--select {' '.join(selected)}): "
            "only a build of the whole project is published",
            hint="run `basin transform` without --select (or `basin run`), then publish; " + KEEP,
        )
    failed = [c for c in checks if c.status != "success"]
    if failed:
        raise GateClosed(
            f"the build of run {last} failed a later check (run {failed[-1].run_id})",
            hint="fix the data or the model and run `basin transform` (or `basin run`) "
            "again; " + KEEP,
        )
    from basin.transform.runner import built_relations

    built = built_relations(res.project.state_path("dbt") / "target")
    problem = unbuilt_schemas(
        list(res.project.config.publish.schemas), res.warehouse.audit_suffix, built
    )
    if built and problem:
        raise PublishError(problem[0], hint=problem[1] + "; " + KEEP)
    if accept is None and res.project.config.quality.block_on_warn:
        warned = [r for r in res.store.check_results(last) if r.status == "warn"]
        if warned:
            raise GateClosed(
                f"the build of run {last} is held back: {len(warned)} check(s) warned "
                f"({', '.join(r.name for r in warned[:3])}{' …' if len(warned) > 3 else ''})",
                hint=f"review them (`basin check --report`), then `basin publish --run {last}`",
            )
    return last


def unbuilt_schemas(
    schemas: list[str], suffix: str, built: set[tuple[str, str]]
) -> tuple[str, str] | None:
    """``(message, hint)`` when a schema to publish gets nothing from the dbt project
    whose relations are ``built`` (lower-case ``(schema, name)``), else None."""
    where = {s for s, _ in built}
    missing = [s for s in schemas if (s + suffix).lower() not in where]
    if not missing:
        return None
    shown = sorted({s.removesuffix(suffix) if suffix else s for s in where})
    near = [b for b in shown if any(b.endswith("_" + m) for m in missing)]
    message = (
        f"publish.schemas names {', '.join(missing)}, but the dbt project builds nothing "
        f"there (it builds into: {', '.join(shown) or 'nothing'})"
    )
    if near:
        hint = (
            f"dbt named them {', '.join(near)}: the project's own generate_schema_name "
            "prefixes custom schemas with the target's — remove it (Basin supplies one) or "
            "make it call basin.generate_schema_name(custom_schema_name, node)"
        )
    else:
        hint = (
            "set publish.schemas in basin.yml to the schema(s) your marts are built in, or "
            f"give the marts folder `+schema: {missing[0]}` in dbt_project.yml"
        )
    return message, hint
