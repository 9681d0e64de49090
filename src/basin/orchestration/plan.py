"""What a scheduler runs for one environment of a project, said once for every
orchestrator: the tasks and their order, the schedule, retries with exponential
backoff, the deadline and the events that start a run. Airflow
(:mod:`basin.orchestration.airflow`) and Dagster (:mod:`basin.orchestration.dagster`)
render the same :class:`Plan`; nothing here imports either.

Tasks: one ``extract__<source>__<entity>`` per source entity (in parallel), then
``load`` → ``transform`` (dbt build with tests: the quality gate) → ``publish`` →
``monitor``, which runs whatever happened before it (a late or failed run is when the
monitors matter) and never fails the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

Step = Literal["extract", "load", "transform", "publish", "monitor"]


def run_name(project: str, env: str) -> str:
    """The DAG's (Airflow) or job's (Dagster) name: ``basin_<project>_<env>``."""
    return f"basin_{project}_{env}"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of a failed task, the wait doubling each time up to a ceiling. Only
    transient errors are retried; a terminal one (bad config, broken contract, failed
    gate) fails at once — retrying it unchanged would fail the same way."""

    retries: int
    first_delay: timedelta
    max_delay: timedelta

    def delay(self, retry: int) -> timedelta:
        """The wait before retry number ``retry`` (1 for the first)."""
        return min(self.first_delay * 2 ** (retry - 1), self.max_delay)


@dataclass(frozen=True)
class Task:
    id: str
    step: Step
    upstream: tuple[str, ...] = ()
    entity: str | None = None
    """``source.entity`` for an extract task."""
    retried: bool = True
    """False for the monitor: observing is never retried and never fails the run."""


@dataclass(frozen=True)
class DropFolder:
    """A ``files`` source's folder: a new file matching one of the globs starts a run."""

    source: str
    directory: str
    globs: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    name: str
    project: str
    """The project's root folder (where basin.yml is)."""
    env: str
    description: str
    schedule: str | None
    """Cron expression in UTC; none: only event-triggered or manual runs."""
    retry: RetryPolicy
    deadline: timedelta | None
    """Publication is due this long after the run was queued; a miss is an incident."""
    drop_folders: tuple[DropFolder, ...]
    upstream: tuple[str, ...]
    """Publications of other projects (their :attr:`publication`) that start a run."""
    poll_interval: timedelta
    max_active_tasks: int
    tasks: tuple[Task, ...] = field(default=())

    @property
    def publication(self) -> str:
        """The event a successful publish emits, for runs downstream to wait on:
        ``basin_<project>_<env>.published`` (an Airflow asset, a Dagster asset)."""
        return f"{self.name}.published"

    def task(self, task_id: str) -> Task:
        return next(t for t in self.tasks if t.id == task_id)

    def extracts(self) -> list[Task]:
        return [t for t in self.tasks if t.step == "extract"]


def environments(project: Any) -> list[str]:
    """The environments that get a run definition (``orchestration.environments``)."""
    config = project.config
    return list(config.orchestration.environments or config.environments)


def plan(root: str | Path, env: str) -> Plan:
    """The plan of ``env`` of the project at ``root`` (a folder or its basin.yml).
    Reads basin.yml only: nothing touches a database or the network."""
    from basin.common.types import parse_duration
    from basin.config import iter_entities, load_project

    path = Path(root)
    folder = path.parent if path.is_file() else path
    project = load_project(folder, env)
    config = project.config
    orch = config.orchestration
    extracts = tuple(
        Task(id=f"extract__{source}__{entity}", step="extract", entity=f"{source}.{entity}")
        for source, entity in iter_entities(config)
    )
    tasks = (
        *extracts,
        Task(id="load", step="load", upstream=tuple(t.id for t in extracts)),
        Task(id="transform", step="transform", upstream=("load",)),
        Task(id="publish", step="publish", upstream=("transform",)),
        Task(id="monitor", step="monitor", upstream=("publish",), retried=False),
    )
    return Plan(
        name=run_name(config.project, env),
        project=str(folder),
        env=env,
        description=f"Basin project {config.project}, environment {env}",
        schedule=orch.schedule,
        retry=RetryPolicy(
            retries=orch.retries,
            first_delay=timedelta(seconds=orch.retry_delay_seconds),
            max_delay=timedelta(seconds=orch.max_retry_delay_seconds),
        ),
        deadline=parse_duration(orch.deadline) if orch.deadline else None,
        drop_folders=_drop_folders(project) if orch.triggers.drop_folders else (),
        upstream=tuple(orch.triggers.assets),
        poll_interval=parse_duration(orch.triggers.poll_interval),
        max_active_tasks=orch.max_active_tasks,
        tasks=tasks,
    )


def _drop_folders(project: Any) -> tuple[DropFolder, ...]:
    from basin.sources.files.configuration import FilesSource

    folders = []
    for source, config in project.config.sources.items():
        if not isinstance(config, FilesSource):
            continue
        path = config.path
        directory = path if "://" in path else str((project.root / path).resolve())
        folders.append(
            DropFolder(
                source=source,
                directory=directory,
                globs=tuple(e.glob for e in config.entities.values()),
            )
        )
    return tuple(folders)
