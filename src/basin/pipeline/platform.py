"""The façade: every Basin command is one method of :class:`Platform`.

The CLI, the Airflow DAG factory and tests all go through here; no business logic
lives in commands or DAG files. Each method takes the project lock, records a run and
calls one step module (``pipeline/steps/``); ``run`` calls them all in order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from basin.common import faults
from basin.common.errors import BasinError, StepFailed
from basin.common.logging import get_logger
from basin.config import Project
from basin.pipeline.reporting import Reporter
from basin.pipeline.resources import Resources
from basin.pipeline.runs import (
    RunSummary,
    StepOutcome,
    record_step,
    recorded_run,
    single,
    sweep_abandoned,
)
from basin.pipeline.steps import extract as extract_step
from basin.pipeline.steps import load as load_step
from basin.pipeline.steps import monitor as monitor_step
from basin.pipeline.steps import publish as publish_step
from basin.pipeline.steps import replay as replay_step
from basin.pipeline.steps import transform as transform_step

if TYPE_CHECKING:
    from pathlib import Path

    from basin.lake.quarantine import Quarantined
    from basin.lake.storage import Lake
    from basin.lineage.events import Lineage
    from basin.lineage.tracker import Tracker
    from basin.metadata.models import Incident
    from basin.metadata.store import MetadataStore
    from basin.observe.incidents import Changes
    from basin.observe.monitors import Finding
    from basin.sources.base import ExtractResult
    from basin.transform.runner import DbtRun
    from basin.warehouses.base import LoadResult, PublishResult, Warehouse

log = get_logger(__name__)

STEPS = ("extract", "load", "transform", "publish")

__all__ = ["STEPS", "Platform", "RunSummary", "StepOutcome"]


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
            reporter: progress bars for long work (the CLI passes Rich's; default none).
                Messages are log records under the ``basin`` logger.
            verbose: show dbt's own output.
            wait: seconds a writing command waits for another one of the same project
                and environment to finish (``float('inf')``: as long as it takes;
                default: fail at once, naming the other run).
        """
        self.resources = Resources(project, verbose=verbose, wait=wait)
        if reporter is not None:
            self.resources.reporter = reporter

    @property
    def project(self) -> Project:
        return self.resources.project

    @property
    def store(self) -> MetadataStore:
        return self.resources.store

    @property
    def lake(self) -> Lake:
        return self.resources.lake

    @property
    def warehouse(self) -> Warehouse:
        return self.resources.warehouse

    @property
    def lineage(self) -> Lineage:
        return self.resources.lineage

    @property
    def tracker(self) -> Tracker:
        return self.resources.tracker

    def close(self) -> None:
        self.resources.close()

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
        options = extract_step.ExtractOptions(full_refresh=full_refresh, since=since)
        # Extractions of different entities run side by side (Airflow's parallel
        # extract tasks); each entity is locked on its own inside the step.
        return single(
            self.resources,
            "extract",
            lambda run_id: extract_step.extract(self.resources, run_id, select, options),
            shared=True,
        )

    def load(self, select: list[str] | None = None) -> list[LoadResult]:
        """Load every complete lake batch not yet in the warehouse, exactly once."""
        return single(
            self.resources, "load", lambda run_id: load_step.load(self.resources, run_id, select)
        )

    def quarantined(self, select: list[str] | None = None) -> list[Quarantined]:
        """The quarantined batches (of the selected sources or entities), oldest first,
        each with the batch its records were released into, if they were."""
        from basin.lake.quarantine import listing

        found: list[Quarantined] = []
        for name in select or [""]:
            source, _, entity = name.partition(".")
            found += listing(self.lake, source or None, entity or None)
        released: dict[tuple[str, str], dict[str, str]] = {}
        for q in found:
            key = (q.source, q.entity)
            if key not in released:
                released[key] = extract_step.released_batches(self.resources, *key)
            q.released_to = released[key].get(q.batch_id)
        return found

    def release(self, batch_id: str) -> ExtractResult:
        """Read a quarantined batch's records again, with the entity's settings as they
        are now (a column type or date format fixed), into a new batch that the next
        load takes. Only the quarantined records are read, so rows that landed are not
        taken twice; records that fail again are quarantined in the new batch."""
        return single(
            self.resources,
            "release",
            lambda run_id: extract_step.release(self.resources, run_id, batch_id),
            shared=True,
        )

    def replay(self, select: list[str] | None = None) -> list[LoadResult]:
        """Rebuild the warehouse's raw tables from the lake alone (no source is read).

        Every complete batch of the selected entities is checked first (manifest
        present, files present with their checksums), then loaded into new raw tables
        that replace the old ones only when all have loaded: a missing or corrupt batch
        fails the replay naming it, and the warehouse is left as it was.
        """
        return single(
            self.resources,
            "replay",
            lambda run_id: replay_step.replay(self.resources, run_id, select),
        )

    def transform(self, select: list[str] | None = None, state: Path | None = None) -> DbtRun:
        """``dbt build`` the project into the warehouse (models, snapshots, tests); with
        ``state``, only what changed against the manifest there (slim CI)."""
        return single(
            self.resources,
            "transform",
            lambda run_id: transform_step.build(self.resources, run_id, select, state),
        )

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
        call = transform_step.DbtCall(
            "compile", "compile", select, ["--no-populate-cache", "--exclude", *exclude]
        )
        return single(self.resources, "compile", lambda _: transform_step.dbt(self.resources, call))

    def check(self, select: list[str] | None = None) -> DbtRun:
        """Run the data tests against what is built, without building (``dbt test``)."""
        return single(
            self.resources,
            "check",
            lambda run_id: transform_step.check(self.resources, run_id, select),
        )

    def docs(self) -> Path:
        """dbt docs of the project as one self-contained HTML file (``dbt docs generate
        --static``: no server, no network), next to the catalog in the state folder.
        Reads column types from the warehouse, so run the pipeline first."""
        import shutil

        call = transform_step.DbtCall("docs generate", "docs", None, ["--static"])
        single(self.resources, "docs", lambda _: transform_step.dbt(self.resources, call))
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

    def publish(self, run: str | None = None) -> PublishResult:
        """Publish the audited marts, if the latest build passed.

        Args:
            run: publish the build of this run explicitly: it must be the latest build
                in the warehouse and have passed its error checks. This is how a build
                held back for warnings (``quality.block_on_warn``) is accepted.
        """
        return single(
            self.resources,
            "publish",
            lambda run_id: publish_step.publish(self.resources, run_id, accept=run),
        )

    def run(self, select: list[str] | None = None) -> RunSummary:
        """The whole flow once: extract → load → transform (with tests) → publish.

        Raises:
            StepFailed: naming the step; earlier steps' work is kept, and a later
                ``basin run`` picks up from what is not done yet.
        """
        res = self.resources
        started = time.monotonic()
        outcomes: list[StepOutcome[Any]] = []
        options = extract_step.ExtractOptions()
        from basin.transform.runner import import_dbt_ahead

        import_dbt_ahead()  # overlaps extract and load
        plan: list[tuple[str, Callable[[str], StepOutcome[Any]]]] = [
            ("extract", lambda rid: extract_step.extract(res, rid, select, options)),
            ("load", lambda rid: load_step.load(res, rid, select)),
            # --select limits what is extracted and loaded; the build is always whole,
            # since only a whole build can pass the gate (see steps/publish.gate).
            ("transform", lambda rid: transform_step.build(res, rid, None)),
            ("publish", lambda rid: publish_step.publish(res, rid)),
        ]
        try:
            return self._run(plan, outcomes, started)
        finally:
            monitor_step.write_metrics(res)

    def _run(
        self,
        plan: list[tuple[str, Callable[[str], StepOutcome[Any]]]],
        outcomes: list[StepOutcome[Any]],
        started: float,
    ) -> RunSummary:
        res = self.resources
        with recorded_run(res, "run") as run_id:
            failure: StepFailed | None = None
            try:
                for name, fn in plan:
                    log.info(name, extra={"heading": True, "step": name})
                    try:
                        outcomes.append(record_step(res, run_id, name, lambda fn=fn: fn(run_id)))  # type: ignore[misc]
                    except BasinError as exc:
                        failure = StepFailed(name, run_id, exc)
                        raise failure from exc
                    faults.point(f"run.after_{name}")
            finally:
                if failure is not None or outcomes and len(outcomes) == len(plan):
                    monitor_step.after_run(res, run_id, failure)
        return RunSummary(run_id, "success", outcomes, time.monotonic() - started)

    def incident_action(
        self, action: Callable[..., Incident], incident_id: int, by: str, now: Any
    ) -> Incident:
        """Acknowledge or resolve an incident by hand (``observe.incidents``) and tell
        the channels that heard of it."""
        done = action(self.store, incident_id, by, now)
        verb = "acknowledge" if done.resolved_at is None else "resolve"
        monitor_step.alert(self.resources, [(verb, done)])
        return done

    def monitor(self) -> tuple[list[Finding], Changes]:
        """Evaluate the monitors now (freshness, volume, schema drift, check pass rate)
        from the metadata store, record the results, and open or resolve incidents."""
        return monitor_step.monitor(self.resources, None)

    # --- reading state ---------------------------------------------------------------

    def catalog_search(self, text: str = "") -> list[Any]:
        """Datasets whose name, description, owner, tags or columns contain ``text``."""
        needle = text.lower()
        return [
            d
            for d in self.store.datasets()
            if needle
            in " ".join(
                str(x or "") for x in (d.key, d.description, d.owner, d.tags, d.columns)
            ).lower()
        ]

    def catalog_show(self, dataset: str) -> dict[str, Any]:
        """One dataset: columns with types and descriptions, owner, tags, rows, when it
        was last written, and its direct upstream and downstream datasets."""
        datasets = self.store.datasets()
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

        return LineageGraph(
            (
                (e.dataset, e.column_name, e.upstream_dataset, e.upstream_column, e.step)
                for e in self.store.lineage_edges()
            ),
            (d.key for d in (self.store.datasets() if datasets is None else datasets)),
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
        sweep_abandoned(self.resources, exclusive=False)
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
