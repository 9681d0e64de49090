"""Failure and deadline callbacks: recorded as incidents in Basin's metadata store and
sent to the alert channels of basin.yml, the same path a ``basin run`` takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _incident(project: str, env: str, kind: str, message: str, **fields: Any) -> None:
    """Open (or count again) an incident; a new one goes to the channels. A delivery
    that fails is recorded and tried again later, never raised into Airflow."""
    from basin.config import load_project
    from basin.metadata.store import open_store, utcnow
    from basin.observe.alerts import dispatch

    p = load_project(Path(project), env)
    store = open_store(p.metadata_url, env=p.env_name, schema=p.env.metadata.db_schema)
    try:
        incident, new = store.open_incident(kind, message, **fields)
        dispatch(p.config, store, utcnow(), [("trigger", incident)] if new else [], p.env_name)
    finally:
        store.close()


def on_task_failure(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every Basin task (after its last retry)."""
    params = context.get("params") or {}
    ti = context.get("ti") or context.get("task_instance")
    task_id = getattr(ti, "task_id", "?")
    dag_id = getattr(ti, "dag_id", "?")
    run_id = context.get("run_id") or getattr(ti, "run_id", None)
    _incident(
        params["basin_project"],
        params["basin_env"],
        "task_failed",
        f"Airflow task {dag_id}.{task_id} failed in run {run_id}: {context.get('exception')}",
        source="airflow",
        entity=f"{dag_id}.{task_id}",
        run_id=str(run_id) if run_id else None,
    )


def on_deadline_missed(project: str, env: str, dag_id: str, **context: Any) -> None:
    """Deadline alert callback: publication was not done in time."""
    _incident(
        project,
        env,
        "deadline_missed",
        f"{dag_id}: the run did not publish before its deadline",
        source="airflow",
        entity=dag_id,
    )
