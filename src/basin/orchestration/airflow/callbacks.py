"""Failure and deadline callbacks: recorded as incidents in Basin's metadata store and
sent to the alert channels of basin.yml, the same path a ``basin run`` takes (a failed
task is a failed run, a failed gate is a failed gate); the publish task's success
resolves them."""

from __future__ import annotations

from typing import Any


def on_task_failure(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every Basin task (after its last retry)."""
    from basin.common.errors import StepFailed
    from basin.orchestration.airflow.tasks import opened
    from basin.pipeline.steps.monitor import after_run

    params = context.get("params") or {}
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "?")
    run_id = str(context.get("run_id") or getattr(ti, "run_id", None) or "?")
    exc = context.get("exception")
    # A terminal error reaches Airflow wrapped (AirflowFailException from it).
    cause = exc.__cause__ if isinstance(exc, BaseException) and exc.__cause__ else exc
    if not isinstance(cause, BaseException):
        cause = RuntimeError(str(cause or "the task failed"))
    with opened(params["basin_project"], params["basin_env"]) as platform:
        after_run(platform.resources, run_id, StepFailed(task_id, run_id, cause), monitors=False)


def on_deadline_missed(project: str, env: str, dag_id: str, **context: Any) -> None:
    """Deadline alert callback: publication was not done in time. The next publication
    resolves it."""
    from basin.metadata.store import utcnow
    from basin.observe.alerts import dispatch
    from basin.observe.incidents import DEADLINE
    from basin.orchestration.airflow.tasks import opened

    with opened(project, env) as platform:
        store = platform.store
        incident, new = store.open_incident(
            "deadline_missed",
            f"{dag_id}: the run did not publish before its deadline",
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
