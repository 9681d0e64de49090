"""Build one Airflow DAG per environment from basin.yml: the rendering of the
orchestrator-neutral :class:`~basin.orchestration.plan.Plan` (tasks, schedule,
retries with exponential backoff, deadline, triggers) — Dagster renders the same plan.
The ``monitor`` task is an Airflow teardown: it runs whatever happened before it and
does not change the DAG run's state, so a failed gate still fails the run.
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

from datetime import datetime
from pathlib import Path
from typing import Any

from basin.orchestration.plan import Plan, environments, plan, run_name


def dag_id(project: str, env: str) -> str:
    return run_name(project, env)


def build_dags(basin_yml: str | Path) -> dict[str, Any]:
    """``{dag_id: DAG}`` for the project's environments (``orchestration.environments``)."""
    from basin.config import load_project

    path = Path(basin_yml)
    root = path.parent if path.is_file() else path
    plans = [plan(root, env) for env in environments(load_project(root))]
    return {p.name: render(p) for p in plans}


def render(p: Plan) -> Any:
    """The Airflow DAG of a plan."""
    from airflow.sdk import DAG, Asset, task
    from airflow.sdk.definitions.callback import SyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    from basin.orchestration.airflow import callbacks, tasks

    default_args = {
        "retries": p.retry.retries,
        "retry_delay": p.retry.first_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": p.retry.max_delay,
        "on_failure_callback": callbacks.on_task_failure,
    }
    deadline = None
    if p.deadline:
        # Queued-at rather than the logical date: runs started by an asset event have
        # no logical date, and a scheduled run is queued at its cron time.
        deadline = DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=p.deadline,
            callback=SyncCallback(
                "basin.orchestration.airflow.callbacks.on_deadline_missed",
                kwargs={"project": p.project, "env": p.env, "dag_id": p.name},
            ),
        )
    with DAG(
        dag_id=p.name,
        description=p.description,
        schedule=_schedule(p),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        max_active_tasks=p.max_active_tasks,
        default_args=default_args,
        params={"basin_project": p.project, "basin_env": p.env},
        deadline=deadline,
        tags=["basin", p.env],
    ) as dag:
        ops: dict[str, Any] = {}
        for t in p.tasks:
            if t.step == "monitor":
                # An Airflow teardown: it runs whatever happened before it and does not
                # change the DAG run's state (a failed gate still fails the run).
                teardown = task(task_id=t.id, retries=0, on_failure_callback=None)(tasks.monitor)
                ops[t.id] = teardown(p.project, p.env).as_teardown()
                continue
            outlets = [Asset(name=p.publication)] if t.step == "publish" else []
            op = task(task_id=t.id, outlets=outlets)(tasks.run)
            args = (t.entity,) if t.entity else ()
            ops[t.id] = op(p.project, p.env, t.step, *args)
        for t in p.tasks:
            for up in t.upstream:
                ops[up] >> ops[t.id]
    return dag


def drop_folder_assets(p: Plan) -> list[Any]:
    """One asset per ``files`` source, watched by a :class:`DropFolderTrigger`."""
    from airflow.sdk import Asset, AssetWatcher

    from basin.orchestration.airflow.triggers import DropFolderTrigger

    assets = []
    for folder in p.drop_folders:
        trigger = DropFolderTrigger(
            directory=folder.directory,
            globs=list(folder.globs),
            project=p.project,
            env=p.env,
            source=folder.source,
            poll_interval=p.poll_interval.total_seconds(),
        )
        asset_name = f"{p.name}.drops.{folder.source}"
        assets.append(
            Asset(name=asset_name, watchers=[AssetWatcher(name=asset_name, trigger=trigger)])
        )
    return assets


def _schedule(p: Plan) -> Any:
    """The cron schedule, the assets whose events start a run, or both."""
    import functools
    import operator

    from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable

    events = drop_folder_assets(p)
    events += [Asset.ref(name=upstream) for upstream in p.upstream]
    if not events:
        return p.schedule
    condition = functools.reduce(operator.or_, events)
    if p.schedule is None:
        return condition
    return AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(p.schedule, timezone="UTC"), assets=condition
    )
