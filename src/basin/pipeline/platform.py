"""The façade: every Basin command is one method of :class:`Platform`.

The CLI, the Airflow DAG factory and tests all go through here; no business logic
lives in commands or DAG files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from basin.common import faults
from basin.common.errors import (
    BasinError,
    ExtractError,
    LoadError,
    PublishError,
    RowsQuarantined,
    SourceUnavailable,
    StepFailed,
    TransformError,
    TransientError,
    WarehouseUnavailable,
)
from basin.config import Project, select_entities
from basin.pipeline.reporting import NullReporter, Reporter

if TYPE_CHECKING:
    from basin.lake.manifest import Manifest
    from basin.lake.storage import Lake
    from basin.lineage.events import Lineage
    from basin.lineage.tracker import Tracker
    from basin.metadata.store import MetadataStore
    from basin.sources.base import ExtractResult
    from basin.transform.runner import DbtRun
    from basin.warehouses.base import LoadResult, PublishResult, Warehouse

T = TypeVar("T")

STEPS = ("extract", "load", "transform", "publish")


@dataclass
class StepOutcome:
    name: str
    rows: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    run_id: str
    status: str
    steps: list[StepOutcome]
    seconds: float


class Platform:
    """One project in one environment."""

    def __init__(
        self,
        project: Project,
        *,
        reporter: Reporter | None = None,
        verbose: bool = False,
        wait: float | None = None,
    ) -> None:
        """
        Args:
            wait: seconds a writing command waits for another one of the same project
                and environment to finish (``float('inf')``: as long as it takes;
                default: fail at once, naming the other run).
        """
        self.project = project
        self.reporter: Reporter = reporter or NullReporter()
        self.verbose = verbose
        self.wait = wait
        self._command = "run"

    # --- resources, opened on first use ---------------------------------------------

    @cached_property
    def store(self) -> MetadataStore:
        from basin.metadata.store import open_store

        return open_store(
            self.project.metadata_url,
            schema=self.project.env.metadata.db_schema,
            lock_dir=self.project.state_path("locks"),
        )

    @cached_property
    def lake(self) -> Lake:
        from basin.lake.storage import Lake

        return Lake(self.project.lake_url)

    @cached_property
    def warehouse(self) -> Warehouse:
        from basin.warehouses.base import warehouse_for

        return warehouse_for(self.project)

    @cached_property
    def lineage(self) -> Lineage:
        from basin.lineage.events import Lineage

        cfg = self.project.config.lineage
        namespace = cfg.namespace or f"basin.{self.project.config.project}.{self.project.env_name}"
        return Lineage(cfg, namespace, self.project.state_dir)

    @cached_property
    def tracker(self) -> Tracker:
        from basin.lineage.tracker import Tracker

        return Tracker(self.project, self.store, self.lake, self.warehouse, self.lineage)

    def close(self) -> None:
        if "lineage" in self.__dict__:
            self.lineage.close()
        if "store" in self.__dict__:
            self.store.close()
        if "warehouse" in self.__dict__:
            self.warehouse.close()

    # --- run bookkeeping -------------------------------------------------------------

    def _lock_name(self, entity: tuple[str, str] | None = None) -> str:
        name = f"{self.project.config.project}/{self.project.env_name}"
        return name + (f"/entity/{entity[0]}.{entity[1]}" if entity else "")

    def _holder(self) -> str:
        running = self.store.running_runs(self.project.env_name)
        if not running:
            return (
                f"another Basin command is in progress on {self.project.config.project} "
                f"(env {self.project.env_name})"
            )
        r = running[0]
        return (
            f"another run {r.run_id} (`basin {r.command}`) is in progress since "
            f"{r.started_at:%Y-%m-%d %H:%M:%S} UTC, pid {r.pid} on {r.host}"
        )

    @contextmanager
    def _locked(self, *, shared: bool = False) -> Iterator[None]:
        """One writing command per project and environment (extracts share it)."""
        with self.store.locks.hold(
            self._lock_name(),
            shared=shared,
            wait=self.wait,
            busy=self._holder,
            waiting=lambda who: self.reporter.message(f"  [yellow]waiting[/]: {who}"),
        ):
            self._sweep_abandoned(exclusive=not shared)
            yield

    def _sweep_abandoned(self, *, exclusive: bool) -> None:
        """Mark runs whose process died (kill -9, a lost machine) as abandoned.

        Holding the project lock exclusively, every run still marked running is dead:
        each live writing command holds the lock. Holding it shared, only runs of this
        host whose process is gone are.
        """
        import os
        import socket

        from basin.common.processes import process_alive

        host = socket.gethostname()
        dead = []
        for r in self.store.running_runs(self.project.env_name):
            if exclusive:
                dead.append(r)
            elif r.host == host and r.pid and r.pid != os.getpid() and not process_alive(r.pid):
                dead.append(r)
        if not dead:
            return
        self.store.abandon_runs(
            [r.run_id for r in dead], "abandoned: its process ended without finishing"
        )
        for r in dead:
            self.reporter.message(
                f"  [yellow]run {r.run_id}[/] (`basin {r.command}`, pid {r.pid} on {r.host}) "
                "ended without finishing: marked abandoned"
            )
        if exclusive:
            self.warehouse.recover()

    @contextmanager
    def _recorded_run(self, command: str, *, shared: bool = False) -> Iterator[str]:
        with self._locked(shared=shared), self._run_record(command) as run_id:
            yield run_id

    @contextmanager
    def _run_record(self, command: str) -> Iterator[str]:
        from basin.lineage.events import run_uuid

        run_id = self.store.start_run(self.project.env_name, command)
        # The run is the parent job of every step's lineage events.
        self._command = command
        lineage_run = run_uuid(run_id, command)
        self.lineage.emit("START", command, lineage_run, job_type="JOB")
        try:
            yield run_id
        except BaseException as exc:
            self.store.finish_run(run_id, "failed", error=_one_line(exc))
            self.lineage.emit("FAIL", command, lineage_run, error=exc, job_type="JOB")
            self._say_lineage_errors()
            raise
        self.store.finish_run(run_id, "success")
        self.lineage.emit("COMPLETE", command, lineage_run, job_type="JOB")
        self._say_lineage_errors()

    def _track(self, what: str, *args: Any) -> Any:
        """Record lineage and catalog entries (``Tracker.<what>``). They describe the
        data; they never decide its fate: a failure here is reported, and the step's
        work stands."""
        try:
            return getattr(self.tracker, what)(*args)
        except Exception as exc:  # noqa: BLE001 - lineage must not fail a build
            self.reporter.message(
                f"  [yellow]lineage and catalog not recorded ({what})[/]: "
                + escape(f"{type(exc).__name__}: {exc}"[:300])
            )
            return None

    def _say_lineage_errors(self) -> None:
        self.lineage.flush()  # the run's events are written before the command returns
        if self.lineage.errors:
            spooled = (
                f" (kept in {self.lineage.spool_file})" if self.lineage.spool_file.exists() else ""
            )
            self.reporter.message(
                f"  [yellow]{len(self.lineage.errors)} lineage event(s) could not be sent{spooled}[/]: "
                f"{self.lineage.errors[0]}"
            )
            self.lineage.errors.clear()

    def _step(self, run_id: str, name: str, fn: Callable[[], StepOutcome]) -> StepOutcome:
        step_id = self.store.start_step(run_id, name)
        try:
            outcome = fn()
        except BaseException as exc:
            self.store.finish_step(step_id, "failed", error=_one_line(exc))
            raise
        self.store.finish_step(step_id, "success", rows=outcome.rows, detail=outcome.detail)
        return outcome

    def _single(
        self, command: str, fn: Callable[[str], StepOutcome], *, shared: bool = False
    ) -> StepOutcome:
        with self._recorded_run(command, shared=shared) as run_id:
            return self._step(run_id, command, lambda: fn(run_id))

    # --- the steps -------------------------------------------------------------------

    def extract(
        self,
        select: list[str] | None = None,
        *,
        full_refresh: bool = False,
        since: str | None = None,
    ) -> list[ExtractResult]:
        """Extract what is new in each selected source entity into lake batches.

        Args:
            full_refresh: forget the selected entities' state (watermark, files taken,
                accepted schema) and extract everything; their next load replaces
                their raw tables. Other entities are untouched.
            since: re-extract cursor-based entities from this cursor value on
                (a backfill); the watermark never moves backwards.
        """
        results: list[ExtractResult] = []
        options = {"full_refresh": full_refresh, "since": since}
        # Extractions of different entities run side by side (Airflow's parallel
        # extract tasks); each entity is locked on its own inside the step.
        self._single(
            "extract",
            lambda run_id: self._extract(run_id, select, results, options),
            shared=True,
        )
        return results

    def _extract(
        self,
        run_id: str,
        select: list[str] | None,
        results: list[ExtractResult],
        options: dict[str, Any] | None = None,
    ) -> StepOutcome:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        from basin.sources.base import (
            ExtractContext,
            extractor_for,
            fingerprint,
            recover_batches,
        )
        from basin.sources.engine import ScanEngine

        options = options or {}
        pairs = select_entities(self.project.config, select)
        if options.get("full_refresh") and not select:
            raise ExtractError(
                "--full-refresh needs --select: it resets each selected entity's state",
                hint="name the entities, e.g. --select crm.customers (or --select crm for a whole source)",
            )
        if options.get("since"):
            file_entities = [
                f"{s}.{e}" for s, e in pairs if self.project.config.sources[s].kind == "files"
            ]
            if file_entities:
                raise ExtractError(
                    f"--since applies to cursor-based entities; {', '.join(file_entities)} are file drops",
                    hint="use --full-refresh to take a file entity's files again",
                )
        scratch = self.project.state_path("tmp")
        scratch.mkdir(parents=True, exist_ok=True)
        # The scanners load in the background while the step records its batches.
        scanners = {
            getattr(extractor_for(s, self.project.config.sources[s]), "EXTENSION", None)
            for s in {s for s, _ in pairs}
        }
        engine = ScanEngine(scratch, [x for x in scanners if x])
        ctx = ExtractContext(
            lake=self.lake,
            store=self.store,
            run_id=run_id,
            scratch_dir=scratch,
            project_root=self.project.root,
            engine=engine,
            options=options,
        )

        from basin.lineage.events import DatasetRef

        def one(source: str, entity: str) -> ExtractResult:
            return _retrying(
                lambda: one_attempt(source, entity),
                attempts=1
                if self.project.config.sources[source].kind == "rest"
                else self.project.config.extract.retry_attempts,
                on_retry=lambda n, exc: self.reporter.message(
                    f"  [yellow]{source}.{entity}[/]: attempt {n} failed "
                    f"({escape(exc.message.splitlines()[0])}); retrying"
                ),
            )

        def one_attempt(source: str, entity: str) -> ExtractResult:
            with self.store.locks.hold(
                self._lock_name((source, entity)),
                wait=self.wait,
                busy=lambda: f"{source}.{entity} is being extracted by another command",
            ):
                recover_batches(self.store, self.lake, source, entity)
                settings = self._check_entity_settings(source, entity, options)
                if options.get("full_refresh"):
                    self.store.reset_entity(source, entity)
                extractor = extractor_for(source, self.project.config.sources[source])
                origin = DatasetRef(*extractor.dataset(entity, self.project.root))
                with self.lineage.step(
                    f"extract.{source}.{entity}", run_id, self._command, inputs=[origin]
                ) as step:
                    result = extractor.extract(entity, ctx)
                    self._track("extracted", step, run_id, source, entity, result.manifest)
                self.store.record_entity_config(
                    self.project.env_name, source, entity, fingerprint(settings), settings
                )
                return result

        from basin.pipeline.services import needed, running

        failures: list[str] = []
        transient = 0
        workers = max(1, min(len(pairs), self.project.config.extract.parallelism))
        services = running(
            needed(self.project.env.services, {source for source, _ in pairs}),
            self.project.root,
            self.project.state_path("logs"),
        )
        with self.reporter.task("extract", total=len(pairs)) as task, services, engine:
            with ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="basin-extract"
            ) as pool:
                futures = {pool.submit(one, s, e): (s, e) for s, e in pairs}
                for future in as_completed(futures):
                    source, entity = futures[future]
                    try:
                        result = future.result()
                        results.append(result)
                        self._say_extract(result)
                    except BasinError as exc:
                        transient += isinstance(exc, TransientError)
                        failures.append(_entity_failure(source, entity, exc))
                        self.reporter.message(
                            f"  [red]{source}.{entity} failed[/]: "
                            + escape(exc.message.removeprefix(f"{source}.{entity}: "))
                        )
                    task.advance(description=f"extracted {source}.{entity}")
        order = {p: i for i, p in enumerate(pairs)}
        results.sort(key=lambda r: order.get((r.source, r.entity), 0))
        rows = sum(r.rows for r in results)
        detail = {
            f"{r.source}.{r.entity}": {
                "batch_id": r.batch_id,
                "rows": r.rows,
                "quarantined": r.quarantined_rows,
            }
            for r in results
        }
        if failures:
            # Only unreachable sources: worth retrying as a whole (Airflow does).
            kind = SourceUnavailable if transient == len(failures) else ExtractError
            raise kind(
                f"{len(failures)} of {len(pairs)} entities failed to extract:\n  "
                + "\n  ".join(failures),
                hint="the other entities' batches are complete and will load"
                if len(failures) < len(pairs)
                else None,
            )
        quarantined = [line for r in results for line in r.quarantined] or [
            f"{r.source}.{r.entity}: {r.quarantined_rows} row(s)"
            for r in results
            if r.quarantined_rows
        ]
        if quarantined and self.project.config.quarantine.fail_run:
            raise RowsQuarantined(
                "rows were quarantined (quarantine.fail_run is on):\n  " + "\n  ".join(quarantined),
                hint="the good rows are in the lake and load with the next run; look at the "
                "quarantined files, fix the source, or set quarantine.fail_run: false",
            )
        return StepOutcome("extract", rows=rows, detail=detail)

    def _check_entity_settings(
        self, source: str, entity: str, options: dict[str, Any]
    ) -> dict[str, Any]:
        """The entity's fingerprinted settings; raises if they changed since its
        batches were taken, unless this is the ``--full-refresh`` that re-baselines it."""
        from basin.sources.base import entity_settings, fingerprint

        settings = entity_settings(self.project.config.sources[source], entity)
        known = self.store.entity_config(self.project.env_name, source, entity)
        if (
            known is None
            or known.fingerprint == fingerprint(settings)
            or options.get("full_refresh")
            or not self.store.batches(source, entity, status="complete")
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

    def _say_extract(self, r: ExtractResult) -> None:
        if r.batch_id is None:
            self.reporter.message(f"  {r.source}.{r.entity}: {r.note}")
            return
        q = f", [yellow]{r.quarantined_rows} quarantined[/]" if r.quarantined_rows else ""
        origin = (
            f" from {r.inputs} file(s)"
            if self.project.config.sources[r.source].kind == "files"
            else ""
        )
        self.reporter.message(
            f"  {r.source}.{r.entity}: {r.rows} rows{origin} → batch {r.batch_id}{q}"
        )
        for line in r.quarantined:
            self.reporter.message(f"    [yellow]quarantined[/] {escape(line)}")

    def load(self, select: list[str] | None = None) -> list[LoadResult]:
        """Load every complete lake batch not yet in the warehouse, exactly once."""
        results: list[LoadResult] = []
        self._single("load", lambda run_id: self._load(run_id, select, results))
        return results

    def _batches(
        self, source: str, entity: str, *, verify: bool = False
    ) -> list[tuple[Manifest, list[str]]]:
        """Every complete batch of an entity, oldest first, with its data files.

        The lake's manifests are the batches; the metadata store says which must be
        there. A batch the store knows as complete whose manifest or files are missing
        or corrupt raises (naming it) instead of being skipped: skipping it would lose
        its rows without a word.
        """
        manifests = self.lake.complete_batches(source, entity)
        found = {m.batch_id for m in manifests}
        for batch in self.store.batches(source, entity, status="complete"):
            if batch.batch_id not in found:
                raise LoadError(
                    f"batch {batch.batch_id} of {source}.{entity} is complete in the metadata "
                    f"store but its manifest {batch.path}/_manifest.json is missing",
                    hint="restore the batch folder from a backup; or, to give its rows up, "
                    f"re-extract the entity with `basin extract --select {source}.{entity} "
                    "--full-refresh`",
                )
        return [(m, self.lake.data_files(m, verify=verify)) for m in manifests]

    def _load(
        self, run_id: str, select: list[str] | None, results: list[LoadResult]
    ) -> StepOutcome:
        """Load what is new of each entity; an entity whose batch cannot be loaded
        stops there (its later batches wait, order matters) and the others go on."""
        pairs = select_entities(self.project.config, select)
        done = self._reaching_warehouse(self.warehouse.loaded_batch_ids)
        failures: list[str] = []
        pending: list[tuple[str, str, list[tuple[Manifest, list[str]]]]] = []
        for source, entity in pairs:
            try:
                batches = [b for b in self._batches(source, entity) if b[0].batch_id not in done]
            except LoadError as exc:
                failures.append(_entity_failure(source, entity, exc))
                continue
            if batches:
                pending.append((source, entity, batches))
        total = sum(len(b) for _, _, b in pending)
        with self.reporter.task("load", total=total) as task:
            for source, entity, batches in pending:
                for manifest, urls in batches:
                    task.update(description=f"load {source}.{entity}")
                    try:
                        with self.lineage.step(
                            f"load.{source}.{entity}", run_id, self._command
                        ) as step:
                            result = self._reaching_warehouse(
                                lambda m=manifest, u=urls: self.warehouse.load_batch(m, u, run_id)
                            )
                            self._track("loaded", step, run_id, manifest, result.table, result.rows)
                    except LoadError as exc:
                        failures.append(_entity_failure(source, entity, exc))
                        self.reporter.message(f"  [red]{source}.{entity} failed[/]: {exc.message}")
                        break
                    faults.point("load.before_record")
                    if not result.skipped:
                        self.store.record_load(
                            manifest.batch_id,
                            self.warehouse.identity,
                            run_id,
                            result.table,
                            result.rows,
                        )
                        self.reporter.message(
                            f"  {result.table}: +{result.rows} rows (batch {manifest.batch_id})"
                        )
                    results.append(result)
                    task.advance()
        if not pending and not failures:
            self.reporter.message("  nothing new to load")
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
            rows=sum(r.rows for r in loaded),
            detail={"batches": [r.batch_id for r in loaded]},
        )

    def _reaching_warehouse(self, fn: Callable[[], T]) -> T:
        """``fn()``, tried again while the warehouse server cannot be reached.

        Only WarehouseUnavailable is retried, which engines raise when connecting,
        before any transaction begins: a retried load cannot load a batch twice.
        """
        return _retrying(
            fn,
            attempts=self.project.config.load.retry_attempts,
            only=WarehouseUnavailable,
            on_retry=lambda n, exc: self.reporter.message(
                f"  [yellow]warehouse[/]: attempt {n} failed "
                f"({escape(exc.message.splitlines()[0])}); retrying"
            ),
        )

    def replay(self, select: list[str] | None = None) -> list[LoadResult]:
        """Rebuild the warehouse's raw tables from the lake alone (no source is read).

        Every complete batch of the selected entities is checked first (manifest
        present, files present with their checksums), then loaded into new raw tables
        that replace the old ones only when all have loaded: a missing or corrupt batch
        fails the replay naming it, and the warehouse is left as it was.
        """
        results: list[LoadResult] = []

        def replay_step(run_id: str) -> StepOutcome:
            pairs = select_entities(self.project.config, select)
            plan = [(s, e, self._batches(s, e, verify=True)) for s, e in pairs]
            total = sum(len(b) for _, _, b in plan)
            with self.reporter.task("replay", total=total) as task:
                loaded = self.warehouse.replay(plan, run_id, lambda _r: task.advance())
            by_batch = {r.batch_id: r for r in loaded}
            for source, entity, batches in plan:
                with self.lineage.step(f"load.{source}.{entity}", run_id, self._command) as step:
                    for manifest, _ in batches:
                        r = by_batch[manifest.batch_id]
                        self._track("loaded", step, run_id, manifest, r.table, r.rows)
                        self.store.record_load(
                            r.batch_id, self.warehouse.identity, run_id, r.table, r.rows
                        )
            results.extend(loaded)
            return StepOutcome(
                "replay",
                rows=sum(r.rows for r in loaded),
                detail={"batches": [r.batch_id for r in loaded]},
            )

        self._single("replay", replay_step)
        return results

    def transform(self, select: list[str] | None = None) -> DbtRun:
        """``dbt build`` the project into the warehouse (models, snapshots, tests)."""
        holder: list[DbtRun] = []
        self._single("transform", lambda run_id: self._transform(run_id, select, holder))
        return holder[0]

    def compile(self, select: list[str] | None = None, *, offline: bool = False) -> DbtRun:
        """Compile the dbt project for this environment's engine without touching data.

        Args:
            offline: compile without reaching the warehouse at all (e.g. a Snowflake
                environment from a laptop): skips what dbt can only compile with a
                connection — incremental models (``is_incremental()`` looks the table
                up), snapshots and unit tests.
        """
        exclude = ["test_type:unit"]
        if offline:
            exclude += ["config.materialized:incremental", "resource_type:snapshot"]
        holder: list[DbtRun] = []
        self._single(
            "compile",
            lambda run_id: self._dbt(
                "compile",
                "compile",
                select,
                holder,
                ["--no-populate-cache", "--exclude", *exclude],
            ),
        )
        return holder[0]

    def check(self, select: list[str] | None = None) -> DbtRun:
        """Run the data tests against what is built, without building (``dbt test``)."""
        holder: list[DbtRun] = []

        def check_step(run_id: str) -> StepOutcome:
            with self.lineage.step("check", run_id, self._command, job_type="DAG"):
                return self._dbt("test", "check", select, holder, run_id=run_id)

        self._single("check", check_step)
        return holder[0]

    def _transform(
        self, run_id: str, select: list[str] | None, holder: list[DbtRun]
    ) -> StepOutcome:
        with self.lineage.step("transform", run_id, self._command, job_type="DAG"):
            return self._dbt("build", "transform", select, holder, run_id=run_id)

    def _dbt(
        self,
        command: str,
        step: str,
        select: list[str] | None,
        holder: list[DbtRun],
        extra: list[str] | None = None,
        *,
        run_id: str | None = None,
    ) -> StepOutcome:
        import json as _json
        import os

        from basin.transform.package import install_package
        from basin.transform.runner import dbt_profile_name, run_dbt, write_profiles

        project_dir = self.project.dbt_project_dir
        profile = dbt_profile_name(project_dir)
        dbt_state = self.project.state_path("dbt")
        write_profiles(dbt_state, profile, self.project.env_name, self.warehouse.dbt_target())
        install_package(project_dir)
        suites = self._expectation_suites()
        quality = self.project.config.quality
        dbt_vars = {
            "basin_publish_schemas": list(self.project.config.publish.schemas),
            "basin_audit_suffix": self.warehouse.audit_suffix,
            "basin_severity": dict(quality.severity),
        }
        # Secrets reach dbt through the environment of this invocation only.
        saved = {k: os.environ.get(k) for k in self.warehouse.dbt_env()}
        os.environ.update(self.warehouse.dbt_env())
        with self.reporter.task(f"dbt {command}", total=None) as task:

            def on_node(unique_id: str, done: int, total: int) -> None:
                faults.point(f"{step}.mid_build")
                task.update(total=total or None, description=f"dbt {unique_id.split('.', 2)[-1]}")
                task.advance()

            try:
                run = run_dbt(
                    command,
                    project_dir=project_dir,
                    profiles_dir=dbt_state,
                    target_name=self.project.env_name,
                    state_dir=dbt_state,
                    select=select,
                    extra_args=["--vars", _json.dumps(dbt_vars), *(extra or [])],
                    verbose=self.verbose,
                    on_node=on_node,
                )
            finally:
                self.warehouse.after_dbt()
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        holder.append(run)
        if run_id is not None and command in ("build", "test"):
            records = self._record_checks(run_id, run, dbt_state / "target", suites)
            untraced = self._track(
                "transformed",
                run_id,
                self._command,
                step,
                project_dir,
                profile,
                dbt_state / "target",
                records,
            )
            if untraced:
                self.reporter.message(
                    f"  [yellow]column lineage: {len(untraced)} model(s) or table(s) not traced[/]: "
                    + escape(untraced[0])
                )
        counts = run.counts()
        if counts:
            self.reporter.message(
                f"  dbt {command}: "
                + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            )
        if not run.success:
            lines = [
                f"{n.unique_id}: {n.status}" + (f" — {_first_line(n.message)}" if n.message else "")
                for n in run.failed
            ]
            if run.error:
                lines.append(run.error)
            error = TransformError(
                f"dbt {command} failed:\n  "
                + "\n  ".join(lines or ["(no node results; see dbt logs)"]),
                hint=f"dbt's log is in {dbt_state / 'logs' / 'dbt.log'}; "
                "the last good publication stays in place",
            )
            error.dbt_run = run  # type: ignore[attr-defined]
            raise error
        # Adapters that do not report affected rows (dbt-duckdb) leave rows unknown.
        affected = [n.rows_affected for n in run.nodes if (n.rows_affected or -1) >= 0]
        return StepOutcome(
            step,
            rows=sum(affected) if affected else None,  # type: ignore[arg-type]
            # The gate publishes only builds of the whole project: it reads "select".
            detail={"nodes": counts, "select": list(select) if select else None},
        )

    def docs(self) -> Any:
        """dbt docs of the project as one self-contained HTML file (``dbt docs generate
        --static``: no server, no network), next to the catalog in the state folder.
        Reads column types from the warehouse, so run the pipeline first."""
        import shutil

        holder: list[DbtRun] = []
        self._single(
            "docs",
            lambda run_id: self._dbt("docs generate", "docs", None, holder, ["--static"]),
        )
        built = self.project.state_path("dbt") / "target" / "static_index.html"
        dest = self.project.state_path("docs") / "index.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, dest)
        return dest

    def quality_report(self, path: Any = None) -> Any:
        """Write the offline HTML quality report; returns its path."""
        from pathlib import Path

        from basin.quality.report import write_report

        target = Path(path) if path else self.project.state_path("reports") / "quality.html"
        return write_report(
            target, self.project.config.project, self.project.env_name, self.store.check_results()
        )

    def _expectation_suites(self) -> list[Any]:
        """Translate the configured GE suites and write them as dbt tests."""
        from basin.quality.expectations import load_suite, write_tests

        configured = self.project.config.quality.expectation_suites
        suites = [
            load_suite(self.project.project_path(s.suite), s.model, s.severity) for s in configured
        ]
        write_tests(self.project.dbt_project_dir, suites)
        for suite in suites:
            if suite.unsupported:
                self.reporter.message(
                    f"  [yellow]expectation suite {suite.name}: {len(suite.unsupported)} expectation(s) "
                    f"not supported, not checked[/]: " + "; ".join(suite.unsupported)
                )
        return suites

    def _record_checks(
        self, run_id: str, run: DbtRun, target_dir: Any, suites: list[Any]
    ) -> list[dict[str, Any]]:
        from basin.quality.expectations import expand_results
        from basin.quality.results import collect

        quality = self.project.config.quality
        limits = {s.test_name: len(s.rules) for s in suites}
        records = collect(run, target_dir, self.warehouse.sample, quality.sample_rows, limits)
        for suite in suites:
            mine = [r for r in records if r["name"] == suite.test_name]
            records = [r for r in records if r["name"] != suite.test_name]
            if mine or run.nodes:
                records += expand_results(suite, mine[0] if mine else None)
        if records:
            self.store.record_checks(run_id, records)
        warned = [r for r in records if r["status"] == "warn"]
        if warned:
            self.reporter.message(
                f"  [yellow]{len(warned)} check(s) warned[/]: "
                + ", ".join(f"{r['name']} ({r['failures']})" for r in warned[:5])
                + (" …" if len(warned) > 5 else "")
            )
        return records

    def publish(self, run: str | None = None) -> PublishResult:
        """Publish the audited marts, if the latest build passed.

        Args:
            run: publish the build of this run explicitly: it must be the latest build
                in the warehouse and have passed its error checks. This is how a build
                held back for warnings (``quality.block_on_warn``) is accepted.
        """
        holder: list[PublishResult] = []
        self._single("publish", lambda run_id: self._publish(run_id, holder, accept=run))
        return holder[0]

    def _gate(self, accept: str | None) -> str:
        """The run id of the build to publish, or a PublishError saying why not.

        A verdict belongs to one build, the newest ``transform`` of this environment:
        it must have built the whole project (no ``--select``) and passed, and no
        ``check`` since may have failed. A later check that passes never turns a failed
        build into a passing one, and a partial build is never published: the audit
        schemas then hold a mix of builds that no single build tested.
        """
        history = self.store.build_history(self.project.env_name)
        if not history:
            raise PublishError(
                "nothing audited to publish: no transform has run yet",
                hint="run `basin transform` (or `basin run`) until it passes",
            )
        build, checks = history[0], history[1:]
        last = build.run_id
        keep = "the last good publication stays in place"
        if accept is not None and last != accept:
            raise PublishError(
                f"run {accept} is not the latest build in this warehouse (the latest is run {last})",
                hint="only the latest audited build can be published; `basin status` lists the runs",
            )
        if build.status != "success":
            raise PublishError(
                f"nothing audited to publish: the last transform (run {last}) {build.status}",
                hint="fix it and run `basin transform` (or `basin run`) until it passes; " + keep,
            )
        selected = json.loads(build.detail or "{}").get("select")
        if selected:
            raise PublishError(
                f"the last build (run {last}) was partial (--select {' '.join(selected)}): "
                "only a build of the whole project is published",
                hint="run `basin transform` without --select (or `basin run`), then publish; "
                + keep,
            )
        failed = [c for c in checks if c.status != "success"]
        if failed:
            raise PublishError(
                f"the build of run {last} failed a later check (run {failed[-1].run_id})",
                hint="fix the data or the model and run `basin transform` (or `basin run`) "
                "again; " + keep,
            )
        if accept is None and self.project.config.quality.block_on_warn:
            warned = [r for r in self.store.check_results(last) if r.status == "warn"]
            if warned:
                raise PublishError(
                    f"the build of run {last} is held back: {len(warned)} check(s) warned "
                    f"({', '.join(r.name for r in warned[:3])}{' …' if len(warned) > 3 else ''})",
                    hint=f"review them (`basin check --report`), then `basin publish --run {last}`",
                )
        return last

    def _publish(
        self, run_id: str, holder: list[PublishResult], accept: str | None = None
    ) -> StepOutcome:
        self._gate(accept)
        schemas = list(self.project.config.publish.schemas)
        with (
            self.reporter.task("publish", total=None),
            self.lineage.step("publish", run_id, self._command) as step,
        ):
            result = self.warehouse.publish(schemas, run_id)
            faults.point("publish.before_record")
            audit = {s: s + self.warehouse.audit_suffix for s in schemas}
            self._track("published", step, run_id, result.tables, audit)
        self.store.record_publication(run_id, result.location, result.tables)
        holder.append(result)
        self.reporter.message(f"  published {len(result.tables)} table(s) to {result.location}")
        return StepOutcome(
            "publish",
            rows=sum(result.tables.values()),
            detail={"location": result.location, **result.detail},
        )

    def run(self, select: list[str] | None = None) -> RunSummary:
        """The whole flow once: extract → load → transform (with tests) → publish.

        Raises:
            StepFailed: naming the step; earlier steps' work is kept, and a later
                ``basin run`` picks up from what is not done yet.
        """
        started = time.monotonic()
        outcomes: list[StepOutcome] = []
        plan: list[tuple[str, Callable[[str], StepOutcome]]] = [
            ("extract", lambda rid: self._extract(rid, select, [])),
            ("load", lambda rid: self._load(rid, select, [])),
            # --select limits what is extracted and loaded; the build is always whole,
            # since only a whole build can pass the gate (see _gate).
            ("transform", lambda rid: self._transform(rid, None, [])),
            ("publish", lambda rid: self._publish(rid, [])),
        ]
        with self._recorded_run("run") as run_id:
            for name, fn in plan:
                self.reporter.message(f"[bold]{name}[/]")
                try:
                    outcomes.append(self._step(run_id, name, lambda fn=fn: fn(run_id)))  # type: ignore[misc]
                except BasinError as exc:
                    raise StepFailed(name, run_id, exc) from exc
                faults.point(f"run.after_{name}")
        return RunSummary(run_id, "success", outcomes, time.monotonic() - started)

    # --- reading state ---------------------------------------------------------------

    def catalog_search(self, text: str = "") -> list[Any]:
        """Datasets whose name, description, owner, tags or columns contain ``text``."""
        needle = text.lower()
        return [
            d
            for d in self.store.datasets(self.project.env_name)
            if needle
            in " ".join(
                str(x or "") for x in (d.key, d.description, d.owner, d.tags, d.columns)
            ).lower()
        ]

    def catalog_show(self, dataset: str) -> dict[str, Any]:
        """One dataset: columns with types and descriptions, owner, tags, rows, when it
        was last written, and its direct upstream and downstream datasets."""
        datasets = self.store.datasets(self.project.env_name)
        graph = self._lineage_graph(datasets)
        key = graph.resolve(dataset)
        entry = next((d for d in datasets if d.key == key), None)
        return {
            "key": key,
            "dataset": entry,
            "columns": [list(c) + [None] * (3 - len(c)) for c in json.loads(entry.columns or "[]")]
            if entry
            else [],
            "tags": json.loads(entry.tags or "[]") if entry else [],
            "upstream": sorted({u for u, c, _ in graph.up.get((key, None), []) if c is None}),
            "downstream": sorted({d for d, c, _ in graph.down.get((key, None), []) if c is None}),
        }

    def _lineage_graph(self, datasets: list[Any] | None = None) -> Any:
        from basin.lineage.graph import LineageGraph

        env = self.project.env_name
        return LineageGraph(
            (
                (e.dataset, e.column_name, e.upstream_dataset, e.upstream_column, e.step)
                for e in self.store.lineage_edges(env)
            ),
            (d.key for d in (self.store.datasets(env) if datasets is None else datasets)),
        )

    def lineage_tree(
        self, dataset: str, column: str | None = None, *, upstream: bool = True
    ) -> Any:
        """The recorded lineage of a dataset (or one of its columns), as a tree.

        Args:
            dataset: a key such as ``marts.customer_360`` or an unambiguous ending
                (``customer_360``).
            upstream: what feeds it (default) or, when False, what it feeds.
        """
        graph = self._lineage_graph()
        return graph.tree(graph.resolve(dataset), column, upstream=upstream)

    def status(self, limit: int = 5) -> dict[str, Any]:
        """Recent runs with their steps, and what is published now."""
        # Runs of this machine whose process is gone show as abandoned, not running.
        self._sweep_abandoned(exclusive=False)
        runs = self.store.runs(limit)
        publication = self.store.last_publication()
        return {
            "env": self.project.env_name,
            "runs": [
                {
                    "run": r,
                    "steps": self.store.steps(r.run_id),
                }
                for r in runs
            ],
            "publication": publication,
            "incidents": self.store.incidents(open_only=True),
            "published_tables": json.loads(publication.tables) if publication else None,
        }


def _retrying(
    fn: Callable[[], T],
    *,
    attempts: int,
    on_retry: Callable[[int, BasinError], None],
    only: type[TransientError] = TransientError,
) -> T:
    """``fn()``, tried again after an ``only`` error up to ``attempts`` times in all,
    waiting 1 s, 2 s, 4 s … (at most 30 s); the last error says how many attempts."""
    import tenacity

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, BasinError):
            on_retry(state.attempt_number, exc)

    try:
        for attempt in tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_exponential(multiplier=1, max=30),
            retry=tenacity.retry_if_exception_type(only),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                return fn()
    except only as exc:
        if attempts > 1:
            exc.message += f" (after {attempts} attempts)"
        raise
    raise AssertionError("unreachable")  # pragma: no cover


def escape(text: str) -> str:
    """Text that must not be read as Rich markup by the CLI's reporter."""
    return text.replace("[", "\\[")


def _entity_failure(source: str, entity: str, exc: BasinError) -> str:
    """One entity's error for a step's summary: its message, then its hint."""
    name = f"{source}.{entity}"
    text = name + ": " + exc.message.removeprefix(name + ": ")
    return text + (f"\n    hint: {exc.hint}" if exc.hint else "")


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text and text.strip() else ""


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 4000 else text[:4000] + "…"
