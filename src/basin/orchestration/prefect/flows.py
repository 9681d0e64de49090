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

Deployments (``deployments``) carry the cron schedule and the upstream triggers; the
runner that serves them (``serve_project``) polls the drop folders on
``poll_interval`` and starts a run when a new file lands.
"""

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
            if steps.gives_up(exc, current_task.run_count, p.retry.retries):
                # The last attempt: its incident now, from the exception itself (a failed
                # gate is a failed gate), as Airflow's failure callback does.
                steps.task_failed(p.project, p.env, t.id, run_id, exc)
            raise

    return run


def _run_plan(p: Plan) -> dict[str, Any]:
    """The body of a plan's flow."""
    # Basin's records at INFO, as in a terminal; PREFECT_LOGGING_EXTRA_LOGGERS=basin
    # (set by `basin serve`) sends them to the run's log in Prefect's UI.
    if logging.getLogger("basin").level == logging.NOTSET:
        logging.getLogger("basin").setLevel(logging.INFO)
    tasks = {t.id: _task(p, t) for t in p.tasks if t.step != "monitor"}
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


def render(p: Plan) -> Flow[..., Any]:
    """The flow of one plan, to call directly (``flow()``: a run on the Prefect server of
    ``PREFECT_API_URL``, or an ephemeral one)."""

    @flow(name=p.name, description=p.description, persist_result=False)
    def run_plan() -> dict[str, Any]:
        return _run_plan(p)

    return run_plan


@flow(name="basin", persist_result=False)
def basin_flow(project: str, env: str) -> dict[str, Any]:
    """The flow a deployment runs: the plan of ``env`` of the project at ``project``
    (deployments load flows by module path, so this one is not built per plan)."""
    return _run_plan(plan(project, env))


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


def new_drops(p: Plan, seen: dict[str, list[float]] | None) -> tuple[list[str], dict]:
    """The files in the plan's drop folders that are new since ``seen`` (the listing of
    the previous poll; none at the first: then files the source took do not count),
    and the listing to pass next time."""
    from basin.orchestration.drops import already_extracted, list_drop_folder

    listing: dict[str, list[float]] = {}
    new: list[str] = []
    for folder in p.drop_folders:
        found = list_drop_folder(folder.directory, list(folder.globs))
        taken = already_extracted(p.project, p.env, folder.source) if seen is None else set()
        for path, signature in found.items():
            key = f"{folder.source}:{path}"
            listing[key] = list(signature)
            if path not in taken and (seen or {}).get(key) != list(signature):
                new.append(key)
    return new, listing


def watch_drops(plans: list[Plan], stop: threading.Event) -> None:
    """The runner's drop-folder trigger: every ``poll_interval``, a run of the plan's
    deployment when a new file is in one of its folders (a thread of the runner, as
    Airflow's triggerer: no flow run per poll)."""
    from prefect.deployments import run_deployment

    log = logging.getLogger("basin.orchestration.prefect")
    seen: dict[str, dict | None] = {p.name: None for p in plans}
    interval = min(p.poll_interval.total_seconds() for p in plans)
    while not stop.is_set():
        for p in plans:
            try:
                new, listing = new_drops(p, seen[p.name])
                if new:
                    log.info("new files in %s's drop folders: %s", p.name, ", ".join(new))
                    run_deployment(f"{p.name}/{p.env}", timeout=0)
                # Only once the run is asked for: a failed request (the deployment not
                # registered yet, the server restarting) is tried again next poll.
                seen[p.name] = listing
            except Exception as exc:  # noqa: BLE001 - a poll must never end the runner
                log.warning(
                    "drop folders of %s: no run started (%s: %s); trying again",
                    p.name,
                    type(exc).__name__,
                    exc,
                )
        stop.wait(max(1.0, interval))


def deployments(p: Plan) -> list[Any]:
    """The plan's deployment: its flow with the cron schedule and the upstream
    triggers (the drop folders are watched by the runner, :func:`watch_drops`)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.events import DeploymentEventTrigger
    from prefect.schedules import Cron

    parameters = {"project": p.project, "env": p.env}
    triggers = [
        DeploymentEventTrigger(
            name=f"after {upstream}",
            expect={PUBLISHED},
            match={"prefect.resource.id": upstream},
        )
        for upstream in p.upstream
    ]
    out = [
        basin_flow.with_options(name=p.name).to_deployment(
            name=p.env,
            parameters=parameters,
            schedule=Cron(p.schedule, timezone="UTC") if p.schedule else None,
            triggers=triggers or None,
            description=p.description,
            tags=["basin", p.env],
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    ]
    return out


def serve_project(basin_yml: str | Path) -> None:
    """Register every environment's deployment with the Prefect server
    (``PREFECT_API_URL``), watch the drop folders, and run the flow runs in this
    process, until stopped."""
    from prefect import serve

    from basin.config import load_project

    if logging.getLogger("basin").level == logging.NOTSET:
        logging.getLogger("basin").setLevel(logging.INFO)
    path = Path(basin_yml)
    root = path.parent if path.is_file() else path
    plans = [plan(root, env) for env in environments(load_project(root))]
    stop = threading.Event()
    watched = [p for p in plans if p.drop_folders]
    if watched:
        threading.Thread(target=watch_drops, args=(watched, stop), daemon=True).start()
    try:
        serve(*[d for p in plans for d in deployments(p)], print_starting_message=False)
    finally:
        stop.set()
