"""What the Airflow tasks run: the orchestrator-neutral steps
(:mod:`basin.orchestration.steps`), with Airflow's ways of saying "do not retry" and
"which task is this". Imported by the worker, not at parse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from basin.orchestration import steps
from basin.orchestration.plan import Task


@contextmanager
def _failing_fast() -> Iterator[None]:
    """A terminal error fails the task at once (AirflowFailException: no retry);
    transient errors go on to Airflow's retries."""
    try:
        yield
    except Exception as exc:
        if not steps.is_terminal(exc):
            raise
        from airflow.sdk.exceptions import AirflowFailException

        from basin.common.redaction import redact

        raise AirflowFailException(redact(str(exc))) from exc


def _airflow_ids() -> tuple[str, str]:
    """The running task's id and its DAG run's id."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    ti = context.get("ti") or context.get("task_instance")
    return str(getattr(ti, "task_id", "?")), str(context.get("run_id") or "?")


def run(project: str, env: str, step: str, entity: str | None = None) -> dict[str, Any]:
    """One task of the plan; appended to the audit log as ``airflow <task>``, by
    ``BASIN_ACTOR`` or else ``service:airflow``."""
    task_id, run_id = _airflow_ids()
    task = Task(id=task_id, step=step, entity=entity)  # type: ignore[arg-type]
    with steps.audited(project, env, f"airflow {task_id}", run_id, "service:airflow") as platform:
        with _failing_fast():
            return steps.execute(platform, task, run_id)


def monitor(project: str, env: str) -> dict[str, Any]:
    """The DAG run's teardown: the monitors, whatever happened before (never fails)."""
    with steps.opened(project, env) as platform:
        return steps.observe(platform)
