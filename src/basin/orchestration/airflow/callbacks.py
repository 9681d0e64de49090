"""Failure and deadline callbacks: the neutral incidents of
:mod:`basin.orchestration.steps` (a failed task is a failed run, a failed gate is a
failed gate); the publish task's success resolves them."""

from __future__ import annotations

from typing import Any


def on_task_failure(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every Basin task (after its last retry)."""
    from basin.orchestration.steps import task_failed

    params = context.get("params") or {}
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "?")
    run_id = str(context.get("run_id") or getattr(ti, "run_id", None) or "?")
    exc = context.get("exception")
    # A terminal error reaches Airflow wrapped (AirflowFailException from it).
    cause = exc.__cause__ if isinstance(exc, BaseException) and exc.__cause__ else exc
    if not isinstance(cause, BaseException):
        cause = RuntimeError(str(cause or "the task failed"))
    task_failed(params["basin_project"], params["basin_env"], task_id, run_id, cause)


def on_deadline_missed(project: str, env: str, dag_id: str, **context: Any) -> None:
    """Deadline alert callback: publication was not done in time."""
    from basin.orchestration.steps import deadline_missed

    deadline_missed(project, env, dag_id)
