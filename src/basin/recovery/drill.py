"""The disaster drill: rebuild the warehouse from the lake alone and prove it equals
the last publication.

``basin drill`` never touches the environment's warehouse. It rebuilds into a scratch
state folder, ``.basin/<env>/drill/`` (emptied first): a fresh warehouse and metadata
store over the same lake. There it replays exactly the batches the live warehouse
holds (its load ledger), runs dbt's build with its tests, publishes, and compares
every published table — rows and an order-independent checksum — with the live
publication. On PostgreSQL the scratch warehouse is the database ``<name>_drill`` on
the same server (dropped and created again by each drill).

- **RTO**: the rebuild's wall time (replay + build + publish), in seconds.
- **RPO**: the batches the live warehouse holds that the lake cannot give back
  (manifest gone): data a real disaster would lose. Zero is the promise.

The drill is recorded in the environment's metadata store as a run of command
``drill`` whose one step holds the figures. Batches loaded after the last publication
make the two differ by design: the drill refuses then, naming the command to run.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from basin.common.errors import TerminalError
from basin.common.logging import get_logger
from basin.pipeline.runs import StepOutcome, record_step, recorded_run
from basin.pipeline.steps import publish as publish_step
from basin.pipeline.steps import replay as replay_step
from basin.pipeline.steps import transform as transform_step

if TYPE_CHECKING:
    from basin.config import Project
    from basin.pipeline.platform import Platform

log = get_logger(__name__)

DRILL_FOLDER = "drill"


@dataclass
class DrillReport:
    run_id: str
    publication_run: str
    """The live publication the rebuild was compared with."""
    rto_seconds: float
    lost_batches: list[str]
    """RPO: batches of the live warehouse the lake cannot give back."""
    replayed_batches: int
    tables: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """``schema.table`` → (live (rows, digest), rebuilt (rows, digest)); None where absent."""
    location: str = ""

    @property
    def differing(self) -> list[str]:
        return sorted(t for t, (live, rebuilt) in self.tables.items() if live != rebuilt)

    @property
    def ok(self) -> bool:
        return not self.lost_batches and not self.differing

    def detail(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rto_seconds": round(self.rto_seconds, 3),
            "rpo_batches": len(self.lost_batches),
            "lost_batches": self.lost_batches,
            "replayed_batches": self.replayed_batches,
            "publication_run": self.publication_run,
            "tables_compared": len(self.tables),
            "tables_differing": self.differing,
            "location": self.location,
        }


def drill_project(project: Project) -> Project:
    """The project with this environment's state, warehouse and metadata moved into
    ``<state>/drill/`` (the lake is the live one, read only); nothing is sent out:
    no alert channel, lineage to a file in the drill folder, no service started."""
    from basin.config import Project
    from basin.lineage.configuration import LineageConfig
    from basin.observe.configuration import AlertsConfig
    from basin.warehouses.base import warehouse_for

    env = project.env
    updates: dict[str, Any] = {
        "state_dir": str(project.state_dir / DRILL_FOLDER),
        "lake": env.lake.model_copy(update={"url": project.lake_url}),
        "metadata": type(env.metadata)(),
        "services": [],
        "publish_dir": "published",  # inside the drill folder, even if the live one is elsewhere
        "warehouse": warehouse_for(project).twin(DRILL_FOLDER),
    }
    config = project.config.model_copy(
        update={
            "environments": {
                **project.config.environments,
                project.env_name: env.model_copy(update=updates),
            },
            "alerts": AlertsConfig(),
            "lineage": LineageConfig(transport="file"),
        }
    )
    return Project(root=project.root, config=config, env_name=project.env_name)


def drill(live: Platform) -> DrillReport:
    """Rebuild ``live``'s environment beside it from the lake and compare; the run
    (command ``drill``) is recorded in ``live``'s metadata store."""
    res = live.resources
    with recorded_run(res, "drill") as run_id:
        outcome = record_step(res, run_id, "drill", lambda: _drill(live, run_id))
    return outcome.result


def _drill(live: Platform, run_id: str) -> StepOutcome[DrillReport]:
    from basin.pipeline.platform import Platform
    from basin.pipeline.runs import single

    store, warehouse = live.store, live.warehouse
    publication = store.last_publication()
    if publication is None:
        raise TerminalError(
            f"nothing is published in {live.project.env_name} yet: a drill compares a "
            "rebuild with the last publication",
            hint="run `basin run` first",
        )
    late = store.loaded_after(publication.published_at, warehouse.identity)
    if late:
        raise TerminalError(
            f"{len(late)} batch(es) were loaded after the last publication (run "
            f"{publication.run_id}), e.g. {late[0]}: the rebuild would hold more than "
            "what is published",
            hint="publish them first (`basin run`, or `basin transform` then `basin "
            "publish`), then drill",
        )
    expected = warehouse.published_checksums()
    held = warehouse.loaded_batch_ids()
    in_lake = {
        m.batch_id
        for source, entity in _entities(live)
        for m in live.resources.lake.complete_batches(source, entity)
    }
    lost = sorted(held - in_lake)
    if lost:  # a rebuild without them cannot equal the publication: say what is lost
        raise DrillFailed(
            DrillReport(run_id, publication.run_id, 0.0, lost, 0, location=live.project.lake_url)
        )

    project = drill_project(live.project)
    shutil.rmtree(project.state_dir, ignore_errors=True)
    rebuild = Platform(project, reporter=live.resources.reporter)
    rebuild.warehouse.empty_twin(DRILL_FOLDER)
    started = time.monotonic()
    try:
        res = rebuild.resources
        replayed = single(
            res, "replay", lambda rid: replay_step.replay(res, rid, None, only=held & in_lake)
        )
        single(res, "transform", lambda rid: transform_step.build(res, rid, None))
        published = single(res, "publish", lambda rid: publish_step.publish(res, rid))
        seconds = time.monotonic() - started
        got = rebuild.warehouse.published_checksums()
    finally:
        rebuild.close()
    report = DrillReport(
        run_id=run_id,
        publication_run=publication.run_id,
        rto_seconds=seconds,
        lost_batches=lost,
        replayed_batches=len(replayed),
        tables={t: (expected.get(t), got.get(t)) for t in sorted(set(expected) | set(got))},
        location=published.location,
    )
    detail = report.detail()
    if not report.ok:
        raise DrillFailed(report)
    return StepOutcome("drill", report, rows=len(report.tables), detail=detail)


def _entities(live: Platform) -> list[tuple[str, str]]:
    from basin.config import select_entities

    return select_entities(live.project.config, None)


class DrillFailed(TerminalError):
    """The rebuild lost batches or differs from the publication."""

    def __init__(self, report: DrillReport) -> None:
        problems = []
        if report.lost_batches:
            problems.append(
                f"{len(report.lost_batches)} batch(es) of the warehouse are not in the lake "
                f"(RPO): {', '.join(report.lost_batches[:5])}"
            )
        if report.differing:
            problems.append(
                f"{len(report.differing)} published table(s) differ from the rebuild: "
                + ", ".join(report.differing[:10])
            )
        super().__init__(
            "the drill failed: " + "; ".join(problems),
            hint="restore the missing batches into the lake from a backup"
            if report.lost_batches
            else f"the rebuild is kept in {report.location} for comparison: find what "
            "changed the published tables",
        )
        self.report = report
