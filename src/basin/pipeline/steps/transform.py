"""Transform: dbt in-process on this environment's warehouse (build, test, compile, docs).

Basin writes the profile, runs the user's dbt project through the project it keeps
under ``.basin/<env>/dbt/project`` (``transform/shadow.py``: its package, its schema
macro and the tests generated from expectation suites live there, never in the user's
folder), and passes its settings as ``--vars``; secrets reach dbt through the
environment of this invocation only. After a build or a test, every
check result lands in the metadata store and the lineage of every model is recorded.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basin.common import faults
from basin.common.errors import BasinError, TransformError
from basin.common.logging import get_logger
from basin.common.sql import RAW_SCHEMA
from basin.pipeline.resources import Resources
from basin.pipeline.runs import StepOutcome

if TYPE_CHECKING:
    from basin.config import Project
    from basin.quality.expectations import Suite
    from basin.transform.runner import DbtRun
    from basin.warehouses.base import Warehouse

log = get_logger(__name__)


@dataclass(frozen=True)
class DbtCall:
    """One dbt invocation: its command, the Basin step it is, its node selection and
    extra arguments; ``run_id`` records checks and lineage (build and test)."""

    command: str
    step: str
    select: list[str] | None = None
    extra: list[str] = field(default_factory=list)
    run_id: str | None = None
    target: str = "target"
    """The folder under the environment's dbt state that dbt writes artifacts to."""
    delta: dict[str, Any] | None = None
    """``BASIN_DELTA`` (``Delta.dbt_var``): what incremental models and the
    delta-aware tests follow; None: everything is new (whole-table tests)."""


DELTA_ENV = "BASIN_DELTA"
"""The environment variable the dbt package's delta macros read (``macros/delta.sql``)."""
DELTA_MARGIN = timedelta(seconds=1)
"""How much earlier than the oldest new batch's start ``since`` is set. A batch is
started (the store's clock) before its rows are stamped (the extraction's clock, on
the same host); the margin absorbs rounding. Runs an hour apart must not overlap."""


@dataclass(frozen=True)
class Delta:
    """The batches a whole build follows: loaded since the last whole build that
    passed against this warehouse's ledger (``Warehouse.unbuilt_batches``)."""

    batches: list[str]
    since: datetime | None
    """Every row of these batches was extracted after it (None: unknown)."""

    def dbt_var(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "since": self.since.strftime("%Y-%m-%d %H:%M:%S") if self.since else None,
        }


def delta(res: Resources, code: str) -> Delta | None:
    """What a whole build of the dbt project whose ``code_fingerprint`` is ``code``
    follows; None when no build has passed here yet, or the last one that did ran
    other code (a changed model must recompute every key, a changed test see every
    row)."""
    batches = res.warehouse.unbuilt_batches(code)
    if batches is None:
        log.info(
            "every key recomputed, every row tested: no build has passed here yet, or "
            "the dbt project changed since the last one that did"
        )
        return None
    first = res.store.first_created(batches)
    # Stamped in UTC; vault load dates are the extraction's UTC timestamps.
    since = (first.astimezone(UTC).replace(tzinfo=None) - DELTA_MARGIN) if first else None
    return Delta(batches, since)


WHOLE_MARK = '"follows_delta": false'
"""How a whole build that followed no delta shows in its step's recorded detail."""


def _whole_pass_due(res: Resources) -> bool:
    """True when ``quality.whole_tests_every`` has passed since the last build that
    tested every row (or there was none): this build follows no delta."""
    from basin.common.types import parse_duration

    every = res.project.config.quality.whole_tests_every
    if every is None:
        return False
    last = res.store.last_step_marked("transform", WHOLE_MARK)
    if last is not None and datetime.now(UTC) - last.astimezone(UTC) < parse_duration(every):
        return False
    log.info(
        "the last build that tested every row passed %s: this one tests every row and "
        "recomputes every key (quality.whole_tests_every: %s)",
        "never here" if last is None else f"at {last:%Y-%m-%d %H:%M} UTC",
        every,
    )
    return True


def _code(res: Resources) -> str:
    """The fingerprint of the dbt project a build runs (Basin's additions included)."""
    from basin.transform.shadow import code_fingerprint, shadow_project

    project_dir = shadow_project(
        res.project.dbt_project_dir, res.project.state_path("dbt") / "project"
    )
    expectation_suites(res, project_dir)
    return code_fingerprint(project_dir)


SLIM_SELECT = ["+state:modified+"]
"""What a build against another manifest selects unless told: the changed nodes, what
depends on them, and what they depend on (built here from raw, so nothing has to be
deferred to relations this warehouse may not have — a CI DuckDB has no production
tables)."""


def build(
    res: Resources, run_id: str, select: list[str] | None, state: Path | None = None
) -> StepOutcome[DbtRun]:
    """``dbt build`` (models, snapshots, seeds, tests) into the audit schemas; with
    ``state`` (a folder holding another build's ``manifest.json``, e.g. production's)
    only what changed against it (slim CI)."""
    _refuse_missing_raw(res)
    _claim_schemas(res, built=False)
    extra: list[str] = []
    if state is not None:
        if state.is_file() and state.name == "manifest.json":  # the file itself was given
            state = state.parent
        if (state / "manifest.json").is_file():
            select = select or SLIM_SELECT
            extra = ["--defer", "--state", str(state.resolve())]
        else:
            log.warning(
                "no manifest.json in %s (no production build yet?): building the whole project",
                state,
            )
    whole = not select and state is None
    # A whole build follows the delta: incremental models take the new batches' keys,
    # tests the new rows (``basin.in_delta``); `basin check` tests whole tables.
    code = _code(res) if whole else ""
    follows = delta(res, code) if whole else None
    if follows is not None and _whole_pass_due(res):
        follows = None
    elif follows is not None:
        log.info(
            "following the delta: %d batch(es) loaded since the last build that passed",
            len(follows.batches),
        )
    taken = sorted(res.warehouse.loaded_batch_ids()) if whole and follows is None else None
    call = DbtCall(
        "build",
        "transform",
        select,
        extra,
        run_id=run_id,
        delta=follows.dbt_var() if follows else None,
    )
    with res.lineage.step("transform", run_id, res.command, job_type="DAG"):
        outcome = dbt(res, call)
    _claim_schemas(res, built=True)
    if not select:
        _drop_unbuilt(res)
    if whole:
        # A selection is never a whole pass: only whole builds carry the mark.
        outcome.detail["follows_delta"] = follows is not None
        # Passed (dbt() raises otherwise): the next build starts after these batches.
        res.warehouse.mark_built(follows.batches if follows else taken or [], run_id, code)
    return outcome


def written_schemas(project: Project, wh: Warehouse) -> list[str]:
    """The schemas an environment writes: Basin's own, the published ones and their
    audit schemas, and what the last dbt build made."""
    from basin.transform.runner import built_relations

    published = project.config.publish.schemas
    built = built_relations(project.state_path("dbt") / "target")
    return sorted(
        {wh.raw_schema, wh.ledger_schema}
        | set(published)
        | {s + wh.audit_suffix for s in published}
        | {schema for schema, _ in built}
    )


def _claim_schemas(res: Resources, *, built: bool) -> None:
    """The schemas dbt writes are this environment's (``Warehouse.claim``): before the
    build, those it is known to write; after it, every schema it made too — and its
    sources must read this environment's raw schema, never another project's."""
    from basin.transform.runner import source_schemas

    wh = res.warehouse
    wh.claim(written_schemas(res.project, wh))
    if not built or wh.raw_schema == RAW_SCHEMA:
        return
    target = res.project.state_path("dbt") / "target"
    stale = sorted(name for name, schema in source_schemas(target).items() if schema == RAW_SCHEMA)
    if stale:
        raise TransformError(
            f"dbt source(s) {', '.join(stale)} read schema {RAW_SCHEMA}, but this "
            f"environment loads into {wh.raw_schema} (warehouse.schemas.raw): the build "
            "read another schema's tables and is not published",
            hint=f"write `schema: \"{{{{ var('basin_raw_schema', '{RAW_SCHEMA}') }}}}\"` in "
            "those sources' YAML in the dbt project (Basin sets the variable)",
        )


def _drop_unbuilt(res: Resources) -> None:
    """After a whole build, the schemas to be published hold exactly what it built: a
    relation an earlier build left (a model since deleted or moved) would otherwise be
    published untested."""
    from basin.transform.runner import built_relations

    built = built_relations(res.project.state_path("dbt") / "target")
    if not built:  # no manifest: never empty a schema on a guess
        return
    suffix = res.warehouse.audit_suffix
    schemas = [s + suffix for s in res.project.config.publish.schemas]
    try:
        dropped = res.warehouse.drop_unbuilt(schemas, built)
    except BasinError:
        raise
    except Exception as exc:  # noqa: BLE001 - the engine's error is the finding
        raise TransformError(
            f"cannot remove relations of earlier builds from {', '.join(schemas)}: "
            f"{_first_line(str(exc))}",
            hint="they are not part of the dbt project any more and must not be published; "
            "drop them by hand (or what depends on them), then `basin transform`",
        ) from None
    if dropped:
        log.warning(
            "dropped %d relation(s) the dbt project no longer builds, so they are not "
            "published: %s",
            len(dropped),
            ", ".join(dropped),
        )


def _refuse_missing_raw(res: Resources) -> None:
    """Stop before dbt when an entity has no raw table yet: its staging model would
    fail with the engine's "does not exist", which names neither the entity nor why."""
    from basin.config import iter_entities
    from basin.warehouses.base import raw_table_name

    raw = res.warehouse.raw_schema
    present = {table for _schema, table in res.warehouse.columns([raw])}
    missing = [
        f"{source}.{entity}"
        for source, entity in iter_entities(res.project.config)
        if raw_table_name(source, entity) not in present
    ]
    if not missing:
        return
    first = missing[0]
    raise TransformError(
        f"no data loaded yet for {', '.join(missing)} (no {raw}.{raw_table_name(*first.split('.', 1))}"
        f"{' …' if len(missing) > 1 else ''}): dbt would fail reading it",
        hint=f"`basin extract --select {first}` says why (e.g. a glob that matches no file); "
        "fix the source or its settings in basin.yml and run again, or remove the entity "
        "if the dbt project does not use it",
    )


def check(res: Resources, run_id: str, select: list[str] | None) -> StepOutcome[DbtRun]:
    """``dbt test``: the checks against what is built, without building."""
    if not res.store.build_history():
        # Every test would fail on a missing table, each with the engine's own words.
        raise TransformError(
            "nothing built to check: no transform has run in this environment yet",
            hint="run `basin run` (or `basin transform`) first; `basin check` tests what "
            "the last build left, without building",
        )
    with res.lineage.step("check", run_id, res.command, job_type="DAG"):
        return dbt(res, DbtCall("test", "check", select, run_id=run_id))


def dbt(res: Resources, call: DbtCall) -> StepOutcome[DbtRun]:
    """Invoke dbt; raises TransformError naming the failed nodes."""
    from basin.transform.runner import dbt_profile_name, run_dbt, write_profiles
    from basin.transform.shadow import shadow_project
    from basin.transform.vault import load_vault

    dbt_state = res.project.state_path("dbt")
    profile = dbt_profile_name(res.project.dbt_project_dir)
    # The project dbt runs: the user's through links, plus Basin's package and macros.
    project_dir = shadow_project(res.project.dbt_project_dir, dbt_state / "project")
    write_profiles(
        dbt_state, profile, res.env, res.warehouse.tagged_dbt_target(call.step, call.run_id)
    )
    suites = expectation_suites(res, project_dir)
    dbt_vars = {
        "basin_publish_schemas": list(res.project.config.publish.schemas),
        "basin_audit_suffix": res.warehouse.audit_suffix,
        "basin_raw_schema": res.warehouse.raw_schema,
        "basin_severity": dict(res.project.config.quality.severity),
    }
    vault = load_vault(res.project.dbt_project_dir)
    if vault is not None:
        dbt_vars["basin_vault"] = vault.dbt_var()
    with res.reporter.task(f"dbt {call.command}", total=None) as task, _dbt_env(res, call.delta):

        def on_node(unique_id: str, done: int, total: int) -> None:
            faults.point(f"{call.step}.mid_build")
            task.update(total=total or None, description=f"dbt {unique_id.split('.', 2)[-1]}")
            task.advance()

        try:
            run = run_dbt(
                call.command,
                project_dir=project_dir,
                profiles_dir=dbt_state,
                target_name=res.env,
                state_dir=dbt_state,
                select=call.select,
                extra_args=["--vars", json.dumps(dbt_vars), *call.extra],
                verbose=res.verbose,
                on_node=on_node,
                target=call.target,
            )
        finally:
            res.warehouse.after_dbt()
    if call.run_id is not None and call.command in ("build", "test"):
        records = _record_checks(res, call.run_id, run, dbt_state / "target", suites)
        _track(res, call, call.run_id, project_dir, profile, dbt_state / "target", records)
    counts = run.counts()
    if counts:
        log.info(
            "dbt %s: %s",
            call.command,
            ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
        )
    if not run.success:
        raise _failed(run, call.command, dbt_state)
    # Adapters that do not report affected rows (dbt-duckdb) leave rows unknown.
    affected = [n.rows_affected for n in run.nodes if (n.rows_affected or -1) >= 0]
    return StepOutcome(
        call.step,
        run,
        rows=sum(a for a in affected if a is not None) if affected else None,
        # The gate publishes only builds of the whole project: it reads "select".
        detail={
            "nodes": counts,
            "select": list(call.select) if call.select else None,
            "models": _timeline(run),
        },
    )


def _timeline(run: DbtRun) -> list[list[Any]]:
    """What dbt built, for the run's timeline: ``[unique_id, status, started_at,
    seconds, rows]`` per model, snapshot and seed (tests are in the check results)."""
    return [
        [n.unique_id, n.status, n.started_at, round(n.execution_time, 3), n.rows_affected]
        for n in run.nodes
        if n.resource_type not in ("test", "unit_test")
    ]


def _track(
    res: Resources,
    call: DbtCall,
    run_id: str,
    project_dir: Path,
    profile: str,
    target_dir: Path,
    records: list[dict[str, Any]],
) -> None:
    """Lineage and catalog of what dbt built or tested (never fails the step)."""
    untraced = res.track(
        "transformed",
        run_id,
        res.command,
        call.step,
        project_dir,
        profile,
        target_dir,
        records,
    )
    if untraced:
        log.warning(
            "column lineage: %d model(s) or table(s) not traced: %s", len(untraced), untraced[0]
        )


@contextmanager
def _dbt_env(res: Resources, delta: dict[str, Any] | None = None) -> Iterator[None]:
    """The warehouse's secrets in os.environ for one dbt invocation, then restored;
    and the delta the build follows as ``BASIN_DELTA`` (empty: none). Not a ``--vars``
    entry: dbt parses the whole project again whenever its vars change (measured
    4–5 s per build at the reference's 140 nodes), and the macros read it only while
    executing, so the parse never records it."""
    secrets = {**res.warehouse.dbt_env(), DELTA_ENV: json.dumps(delta) if delta else ""}
    saved = {k: os.environ.get(k) for k in secrets}
    os.environ.update(secrets)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _failed(run: DbtRun, command: str, dbt_state: Path) -> TransformError:
    lines = [
        f"{n.unique_id}: {n.status}" + (f" — {_first_line(n.message)}" if n.message else "")
        for n in run.failed
    ]
    if run.error:
        lines.append(run.error)
    tests = [
        n.unique_id.split(".")[2]
        for n in run.failed
        if n.resource_type in ("test", "data_test") and n.status in ("fail", "warn")
    ]
    see = (
        f"see the failing rows with `basin failures {tests[0]}` (or `basin check --report`); "
        if tests
        else ""
    )
    error = TransformError(
        f"dbt {command} failed:\n  " + "\n  ".join(lines or ["(no node results; see dbt logs)"]),
        hint=f"{_unprefixed_basin_names(run)}{see}dbt's log is in "
        f"{dbt_state / 'logs' / 'dbt.log'}; the last good publication stays in place",
    )
    error.dbt_run = run  # type: ignore[attr-defined]
    return error


def _unprefixed_basin_names(run: DbtRun) -> str:
    """dbt's "'test_primary_key' is undefined … dbt deps" (or "'in_delta' is undefined")
    for a test or macro of Basin's package written without its ``basin.`` prefix: say
    the name to write instead."""
    undefined = {
        name
        for node in run.failed
        for name in re.findall(r"'(\w+)' is undefined", node.message or "")
    }
    if not undefined:
        return ""
    from basin.transform.package import PACKAGE

    macros = "\n".join(p.read_text() for p in (PACKAGE / "macros").rglob("*.sql"))
    tests = {f"test_{t}": t for t in re.findall(r"{%-?\s*test\s+(\w+)\(", macros)}
    plain = set(re.findall(r"{%-?\s*macro\s+(\w+)\(", macros))
    hints = [
        f"write `basin.{tests[name]}` (a test of Basin's package)"
        if name in tests
        else f"write `basin.{name}` (a macro of Basin's package)"
        for name in sorted(undefined)
        if name in tests or name in plain
    ]
    return "".join(f"{hint}; " for hint in hints)


def expectation_suites(res: Resources, project_dir: Path) -> list[Suite]:
    """Translate the configured expectation suites and write them as dbt tests of the
    project Basin runs (``project_dir``)."""
    from basin.quality.expectations import load_suite, write_tests

    configured = res.project.config.quality.expectation_suites
    suites = [
        load_suite(res.project.project_path(s.suite), s.model, s.severity) for s in configured
    ]
    from basin.transform.shadow import TEST_PATH

    write_tests(project_dir / TEST_PATH, suites)
    for suite in suites:
        if suite.unsupported:
            log.warning(
                "expectation suite %s: %d expectation(s) not supported, not checked: %s",
                suite.name,
                len(suite.unsupported),
                "; ".join(suite.unsupported),
            )
    return suites


def _record_checks(
    res: Resources, run_id: str, run: DbtRun, target_dir: Path, suites: list[Suite]
) -> list[dict[str, Any]]:
    from basin.quality.expectations import expand_results
    from basin.quality.results import collect

    quality = res.project.config.quality
    limits = {s.test_name: len(s.rules) for s in suites}
    records = collect(run, target_dir, res.warehouse.sample, quality.sample_rows, limits)
    for suite in suites:
        mine = [r for r in records if r["name"] == suite.test_name]
        records = [r for r in records if r["name"] != suite.test_name]
        if mine or run.nodes:
            records += expand_results(suite, mine[0] if mine else None)
    if records:
        res.store.record_checks(run_id, records)
    warned = [r for r in records if r["status"] == "warn"]
    if warned:
        log.warning(
            "%d check(s) warned: %s%s",
            len(warned),
            ", ".join(f"{r['name']} ({r['failures']})" for r in warned[:5]),
            " …" if len(warned) > 5 else "",
        )
    return records


def _first_line(text: str | None) -> str:
    """What a dbt message says: its first line — and the next, when the first only
    names where (``Compilation Error in model x (models/x.sql)``), or the table a
    first line ending in a colon announces (a unit test's ``actual differs from
    expected:`` and its diff, at most ten rows)."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) > 1 and lines[0].endswith(":"):
        shown = lines[1:11] + (["…"] if len(lines) > 11 else [])
        return "\n    ".join([lines[0], *shown])
    if len(lines) > 1 and re.fullmatch(r"[\w ]*Error in \w+ \S+ \(.*\)", lines[0]):
        return f"{lines[0]}: {lines[1]}"
    return lines[0]
