"""Build one Airflow DAG per environment from basin.yml.

Tasks: one ``extract__<source>__<entity>`` per source entity (in parallel), then
``load`` → ``transform`` (dbt build with tests: the quality gate) → ``publish`` →
``monitor`` (an Airflow teardown: it runs whatever happened before it — a late or
failed run is when the monitors matter — and does not change the DAG run's state, so a
failed gate still fails the run).
Each task is one call of Basin's façade (``tasks.py``); nothing touches a database or
the network while the DAG file is parsed.

dbt runs as one ``transform`` task rather than one Airflow task per model
(astronomer-cosmos), by measurement (``bench/airflow_cosmos.py``, reference platform
at scale 0.01, ``dag.test()``): cosmos rendered 42 tasks from the manifest and took
119 s to build what one Basin task built in 34 s (3.5×; every task pays dbt's start-up
and parse), and parsing its DAG file took 1.19 s against 0.22 s. Its default of testing
each model right after it also fails on this project: a relationships test between two
marts runs before the second mart exists. One build also lets the gate see every
test before anything is published.

Runs start on the cron schedule, when a file lands in a ``files`` source's folder
(an asset watched by :class:`~basin.orchestration.airflow.triggers.DropFolderTrigger`)
or when an upstream asset named in ``orchestration.triggers.assets`` is updated; the
publish task updates the asset ``<dag_id>.published`` for DAGs downstream.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


def dag_id(project: str, env: str) -> str:
    return f"basin_{project}_{env}"


def build_dags(basin_yml: str | Path) -> dict[str, Any]:
    """``{dag_id: DAG}`` for the project's environments (``orchestration.environments``)."""
    from basin.config import load_project

    path = Path(basin_yml)
    project = load_project(path)
    config = project.config
    envs = config.orchestration.environments or list(config.environments)
    return {
        dag_id(config.project, env): _build(path.parent if path.is_file() else path, env)
        for env in envs
    }


def _build(root: Path, env: str) -> Any:
    from airflow.sdk import DAG, Asset, task
    from airflow.sdk.definitions.callback import SyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    from basin.common.types import parse_duration
    from basin.config import iter_entities, load_project
    from basin.orchestration.airflow import callbacks, tasks

    project = load_project(root, env)
    orch = project.config.orchestration
    name = dag_id(project.config.project, env)
    params = {"basin_project": str(root), "basin_env": env}
    default_args = {
        "retries": orch.retries,
        "retry_delay": timedelta(seconds=orch.retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(seconds=orch.max_retry_delay_seconds),
        "on_failure_callback": callbacks.on_task_failure,
    }
    deadline = None
    if orch.deadline:
        # Queued-at rather than the logical date: runs started by an asset event have
        # no logical date, and a scheduled run is queued at its cron time.
        deadline = DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=parse_duration(orch.deadline),
            callback=SyncCallback(
                "basin.orchestration.airflow.callbacks.on_deadline_missed",
                kwargs={"project": str(root), "env": env, "dag_id": name},
            ),
        )
    with DAG(
        dag_id=name,
        description=f"Basin project {project.config.project}, environment {env}",
        schedule=_schedule(project, env),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        max_active_tasks=orch.max_active_tasks,
        default_args=default_args,
        params=params,
        deadline=deadline,
        tags=["basin", env],
    ) as dag:
        extracts = []
        for source, entity in iter_entities(project.config):
            op = task(task_id=f"extract__{source}__{entity}")(tasks.extract)
            extracts.append(op(str(root), env, f"{source}.{entity}"))
        loaded = task(task_id="load")(tasks.load)(str(root), env)
        built = task(task_id="transform")(tasks.transform)(str(root), env)
        published = task(task_id="publish", outlets=[Asset(name=f"{name}.published")])(
            tasks.publish
        )(str(root), env)
        watched = task(task_id="monitor", retries=0, on_failure_callback=None)(tasks.monitor)(
            str(root), env
        )
        for e in extracts:
            e >> loaded
        loaded >> built >> published >> watched.as_teardown()
    return dag


def drop_folder_assets(project: Any, env: str) -> list[Any]:
    """One asset per ``files`` source, watched by a :class:`DropFolderTrigger`."""
    from airflow.sdk import Asset, AssetWatcher

    from basin.common.types import parse_duration
    from basin.orchestration.airflow.triggers import DropFolderTrigger
    from basin.sources.files.configuration import FilesSource

    orch = project.config.orchestration
    name = dag_id(project.config.project, env)
    assets = []
    for source, config in project.config.sources.items():
        if not isinstance(config, FilesSource):
            continue
        path = config.path
        directory = path if "://" in path else str((project.root / path).resolve())
        trigger = DropFolderTrigger(
            directory=directory,
            globs=[e.glob for e in config.entities.values()],
            project=str(project.root),
            env=env,
            source=source,
            poll_interval=parse_duration(orch.triggers.poll_interval).total_seconds(),
        )
        asset_name = f"{name}.drops.{source}"
        assets.append(
            Asset(name=asset_name, watchers=[AssetWatcher(name=asset_name, trigger=trigger)])
        )
    return assets


def _schedule(project: Any, env: str) -> Any:
    """The cron schedule, the assets whose events start a run, or both."""
    import functools
    import operator

    from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable

    orch = project.config.orchestration
    events = drop_folder_assets(project, env) if orch.triggers.drop_folders else []
    events += [Asset.ref(name=upstream) for upstream in orch.triggers.assets]
    if not events:
        return orch.schedule
    condition = functools.reduce(operator.or_, events)
    if orch.schedule is None:
        return condition
    return AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(orch.schedule, timezone="UTC"), assets=condition
    )
