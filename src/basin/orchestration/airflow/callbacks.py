"""Failure and deadline callbacks: recorded as incidents in Basin's metadata store.

Alert channels (Slack, e-mail, PagerDuty) subscribe to incidents; until the alerting
issue lands, the incident record is the alert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _store(project: str, env: str) -> Any:
    from basin.config import load_project
    from basin.metadata.store import open_store

    p = load_project(Path(project), env)
    return open_store(p.metadata_url, env=p.env_name, schema=p.env.metadata.db_schema)


def on_task_failure(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every Basin task (after its last retry)."""
    params = context.get("params") or {}
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "?")
    dag_id = getattr(ti, "dag_id", "?")
    run_id = context.get("run_id") or getattr(ti, "run_id", None)
    error = context.get("exception")
    store = _store(params["basin_project"], params["basin_env"])
    try:
        store.open_incident(
            "task_failed",
            f"Airflow task {dag_id}.{task_id} failed in run {run_id}: {error}",
            source="airflow",
            entity=f"{dag_id}.{task_id}",
            run_id=str(run_id) if run_id else None,
        )
    finally:
        store.close()


def on_deadline_missed(project: str, env: str, dag_id: str, **context: Any) -> None:
    """Deadline alert callback: publication was not done in time."""
    store = _store(project, env)
    try:
        store.open_incident(
            "deadline_missed",
            f"{dag_id}: the run did not publish before its deadline",
            source="airflow",
            entity=dag_id,
        )
    finally:
        store.close()
