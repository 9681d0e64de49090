"""What every orchestrator's tasks run: one façade call each, audited, with the same
failure and deadline incidents a ``basin run`` raises. Airflow and Dagster wrap these
in their own task types; nothing here imports either. Imported by the worker, never
while a DAG file or code location is loaded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from basin.orchestration.plan import Task

LOCK_WAIT_SECONDS = 600.0


def is_terminal(exc: BaseException) -> bool:
    """A terminal error (bad config, broken contract, failed gate) fails the task at
    once: retrying it unchanged would fail the same way, and only delay the alert.
    Transient errors (unreachable source or warehouse, a busy lock) are retried."""
    from basin.common.errors import TerminalError

    return isinstance(exc, TerminalError)


def gives_up(exc: BaseException, attempt: int, retries: int) -> bool:
    """Whether a task's failed ``attempt`` (1 for the first) is its last: a terminal
    error, or no retry left. Then its incident is recorded and it is not retried."""
    return is_terminal(exc) or attempt > retries


@contextmanager
def opened(project: str, env: str) -> Iterator[Any]:
    """The project's façade, closed afterwards. A task queues behind a command already
    running on the project (a manual ``basin run``, another run's publish) rather than
    failing and retrying."""
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    platform = Platform(load_project(Path(project), env), wait=LOCK_WAIT_SECONDS)
    try:
        yield platform
    finally:
        platform.close()


@contextmanager
def audited(project: str, env: str, action: str, run_id: str, actor: str) -> Iterator[Any]:
    """A task's façade; the task is appended to the audit log as ``action`` by
    ``BASIN_ACTOR`` or else ``actor`` (``service:airflow``, ``service:dagster``)."""
    from basin.access.audit import record
    from basin.common.redaction import redact

    with opened(project, env) as platform:
        outcome, detail = "failed", None
        try:
            yield platform
            outcome = "success"
        except BaseException as exc:
            detail = redact(str(exc))
            raise
        finally:
            record(
                platform.project,
                action,
                [f"run_id={run_id}"],
                outcome,
                detail=detail,
                who=os.environ.get("BASIN_ACTOR") or actor,
                store=platform.store,
            )


def execute(platform: Any, task: Task, run_id: str) -> dict[str, Any]:
    """Run one task of a plan on an opened façade; a small JSON-able summary back."""
    if task.step == "extract":
        [result] = platform.extract([task.entity])
        return {
            "batch_id": result.batch_id,
            "rows": result.rows,
            "quarantined": result.quarantined_rows,
        }
    if task.step == "load":
        results = platform.load()
        return {
            "batches": len([r for r in results if not r.skipped]),
            "rows": sum(r.rows for r in results),
        }
    if task.step == "transform":
        return {"nodes": platform.transform().counts()}
    if task.step == "publish":
        # Then the run has succeeded: its failure, gate and deadline incidents are
        # resolved (as a `basin run` that succeeds resolves them).
        from basin.pipeline.steps.monitor import after_run

        result = platform.publish()
        after_run(platform.resources, run_id, None, monitors=False)
        return {"location": result.location, "tables": result.tables}
    return observe(platform)


def observe(platform: Any) -> dict[str, int]:
    """The run's last task, whatever happened before it: evaluate the monitors, send
    the alerts, write the metrics textfile. Observing never fails: errors are logged."""
    from basin.pipeline.steps.monitor import write_metrics

    counts: dict[str, int] = {}
    if platform.project.config.monitors.enabled:
        try:
            findings, _changes = platform.monitor()
            for f in findings:
                counts[f.status] = counts.get(f.status, 0) + 1
        except Exception as exc:  # noqa: BLE001 - observing must never fail the run
            from basin.common.logging import get_logger

            get_logger(__name__).warning("monitors not evaluated: %s: %s", type(exc).__name__, exc)
    write_metrics(platform.resources)
    return counts


def task_failed(project: str, env: str, task_id: str, run_id: str, exc: BaseException) -> None:
    """A task failed after its last retry: an incident (a failed task is a failed run,
    a failed gate is a failed gate) sent to the alert channels of basin.yml."""
    from basin.common.errors import StepFailed
    from basin.pipeline.steps.monitor import after_run

    with opened(project, env) as platform:
        after_run(platform.resources, run_id, StepFailed(task_id, run_id, exc), monitors=False)


def deadline_missed(project: str, env: str, name: str) -> None:
    """Publication was not done in time: an incident, alerted; the next publication
    resolves it."""
    from basin.metadata.store import utcnow
    from basin.observe.alerts import dispatch
    from basin.observe.incidents import DEADLINE

    with opened(project, env) as platform:
        store = platform.store
        incident, new = store.open_incident(
            "deadline_missed",
            f"{name}: the run did not publish before its deadline",
            source=DEADLINE[0],
            entity=DEADLINE[1],
            event_at=utcnow(),
        )
        dispatch(
            platform.project.config,
            store,
            utcnow(),
            [("trigger", incident)] if new else [],
            platform.project.env_name,
        )
