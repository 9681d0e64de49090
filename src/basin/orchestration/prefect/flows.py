"""Prefect 3 flows from basin.yml: the rendering of the same orchestrator-neutral
:class:`~basin.orchestration.plan.Plan` Airflow's DAG factory and Dagster's
definitions render.

Per environment a flow ``basin_<project>_<env>``: the extract tasks submitted at once
(in parallel), then ``load`` → ``transform`` (the gate) → ``publish``, and the
monitors in a ``finally`` (they run after a failure too and never fail the flow).
Each task retries a transient error after the plan's waits (Prefect takes the list:
the first delay doubling up to the ceiling) and fails a terminal one at once
(``retry_condition_fn``); its last failed attempt records the same incident a
``basin run`` opens. A successful publish emits the Prefect event
``basin.published`` about the resource ``basin_<project>_<env>.published``: another
project's deployment triggers on it (``triggers.assets``). The deadline is a timer
started with the flow: not published ``deadline`` after the run's scheduled start,
the ``deadline_missed`` incident.

Deployments (``deployments``) carry the cron schedule and the upstream triggers; a
second, small flow per environment polls the drop folders on ``poll_interval`` and
starts the main deployment when a new file lands.
"""

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import Flow, flow, task
from prefect.events import emit_event
from prefect.runtime import flow_run as current_flow
from prefect.runtime import task_run as current_task

from basin.orchestration import steps
from basin.orchestration.plan import Plan, Task, environments, plan

ACTOR = "service:prefect"
PUBLISHED = "basin.published"


def build_flows(basin_yml: str | Path) -> dict[str, Flow[..., Any]]:
    """``{flow name: flow}`` for the project's environments (``orchestration.environments``)."""
    from basin.config import load_project

    path = Path(basin_yml)
    root = path.parent if path.is_file() else path
    plans = [plan(root, env) for env in environments(load_project(root))]
    return {p.name: render(p) for p in plans}


def _transient(_task: Any, _run: Any, state: Any) -> bool:
    """Prefect's ``retry_condition_fn``: retry unless the failure was terminal."""
    error = state.data if isinstance(state.data, BaseException) else None
    return error is None or not steps.is_terminal(error)


def _task(p: Plan, t: Task) -> Any:
    delays = [p.retry.delay(n).total_seconds() for n in range(1, p.retry.retries + 1)]

    @task(
        name=t.id,
        retries=p.retry.retries,
        retry_delay_seconds=delays or 0,
        retry_condition_fn=_transient,
        persist_result=False,
    )
    def run() -> dict[str, Any]:
        run_id = str(current_flow.id)
        try:
            action = f"prefect {t.id}"
            with steps.audited(p.project, p.env, action, run_id, ACTOR) as platform:
                return steps.execute(platform, t, run_id)
        except Exception as exc:
            if steps.is_terminal(exc) or current_task.run_count > p.retry.retries:
                # The last attempt: its incident now, from the exception itself (a failed
                # gate is a failed gate), as Airflow's failure callback does.
                steps.task_failed(p.project, p.env, t.id, run_id, exc)
            raise

    return run


def render(p: Plan) -> Flow[..., Any]:
    """The flow of one plan."""
    tasks = {t.id: _task(p, t) for t in p.tasks if t.step != "monitor"}

    @flow(name=p.name, description=p.description, persist_result=False, log_prints=False)
    def run_plan() -> dict[str, Any]:
        # Basin's records at INFO, as in a terminal; PREFECT_LOGGING_EXTRA_LOGGERS=basin
        # (set by `basin serve`) sends them to the run's log in Prefect's UI.
        if logging.getLogger("basin").level == logging.NOTSET:
            logging.getLogger("basin").setLevel(logging.INFO)
        timer = _deadline_timer(p)
        try:
            futures = [tasks[t.id].submit() for t in p.extracts()]
            extracted = [f.result() for f in futures]  # raises the first failure
            summary: dict[str, Any] = {"extracted": len(extracted)}
            for step in ("load", "transform", "publish"):
                summary[step] = tasks[step]()
            emit_event(
                event=PUBLISHED,
                resource={"prefect.resource.id": p.publication, "basin.env": p.env},
                payload={"location": str(summary["publish"].get("location"))},
            )
            return summary
        finally:
            if timer is not None:
                timer.cancel()
            with steps.opened(p.project, p.env) as platform:
                steps.observe(platform)  # never fails

    return run_plan


def _deadline_timer(p: Plan) -> threading.Timer | None:
    """The ``deadline_missed`` incident if the flow is still running ``deadline`` after
    its scheduled start (its creation for a manual run)."""
    if p.deadline is None:
        return None
    start = current_flow.scheduled_start_time or datetime.now(UTC)
    left = (start + p.deadline - datetime.now(UTC)).total_seconds()
    timer = threading.Timer(max(0.0, left), steps.deadline_missed, (p.project, p.env, p.name))
    timer.daemon = True
    timer.start()
    return timer


def drop_watcher(p: Plan, deployment: str) -> Flow[..., Any]:
    """A flow that lists the drop folders and starts ``deployment`` (``flow/deployment``)
    when a file the source has not taken, and no earlier poll saw, is there. What it
    saw is kept in ``.basin/prefect/drops-<env>.json``."""
    from prefect.deployments import run_deployment

    seen_file = Path(p.project) / ".basin" / "prefect" / f"drops-{p.env}.json"

    @flow(name=f"{p.name}_drops", persist_result=False)
    def watch() -> list[str]:
        from basin.orchestration.drops import already_extracted, list_drop_folder

        seen = json.loads(seen_file.read_text()) if seen_file.exists() else None
        listing: dict[str, list[float]] = {}
        new: list[str] = []
        for folder in p.drop_folders:
            found = list_drop_folder(folder.directory, list(folder.globs))
            taken = already_extracted(p.project, p.env, folder.source) if seen is None else set()
            for path, signature in found.items():
                key = f"{folder.source}:{path}"
                listing[key] = list(signature)
                before = seen.get(key) if seen is not None else None
                if seen is None and path in taken:
                    continue
                if before != list(signature):
                    new.append(key)
        seen_file.parent.mkdir(parents=True, exist_ok=True)
        seen_file.write_text(json.dumps(listing))
        if new:
            run_deployment(deployment, timeout=0)
        return new

    return watch


def deployments(p: Plan) -> list[Any]:
    """The plan's deployments: the main flow with its cron schedule and upstream
    triggers, and the drop-folder watcher on ``poll_interval``."""
    from prefect.events import DeploymentEventTrigger
    from prefect.schedules import Cron

    main = render(p)
    triggers = [
        DeploymentEventTrigger(
            name=f"after {upstream}",
            expect={PUBLISHED},
            match={"prefect.resource.id": upstream},
        )
        for upstream in p.upstream
    ]
    out = [
        main.to_deployment(
            name=p.env,
            schedule=Cron(p.schedule, timezone="UTC") if p.schedule else None,
            triggers=triggers or None,
            description=p.description,
            tags=["basin", p.env],
        )
    ]
    if p.drop_folders:
        watcher = drop_watcher(p, f"{p.name}/{p.env}")
        out.append(
            watcher.to_deployment(
                name=f"{p.env}-drops",
                interval=max(1.0, p.poll_interval.total_seconds()),
                tags=["basin", p.env],
            )
        )
    return out


def serve_project(basin_yml: str | Path) -> None:
    """Register every environment's deployments with the Prefect server
    (``PREFECT_API_URL``) and run their flow runs in this process, until stopped."""
    from prefect import serve

    from basin.config import load_project

    path = Path(basin_yml)
    root = path.parent if path.is_file() else path
    found = []
    for env in environments(load_project(root)):
        found += deployments(plan(root, env))
    serve(*found, print_starting_message=False)


if __name__ == "__main__":
    import sys

    serve_project(sys.argv[1])
