"""What the Airflow tasks run: one façade call each. Imported by the worker, not at parse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LOCK_WAIT_SECONDS = 600.0


def _platform(project: str, env: str) -> Any:
    from basin.core.config import load_project
    from basin.core.platform import Platform

    # A task queues behind a command already running on the project (a manual
    # `basin run`, another DAG run's publish) rather than failing and retrying.
    return Platform(load_project(Path(project), env), wait=LOCK_WAIT_SECONDS)


def extract(project: str, env: str, entity: str) -> dict[str, Any]:
    platform = _platform(project, env)
    try:
        [result] = platform.extract([entity])
        return {
            "batch_id": result.batch_id,
            "rows": result.rows,
            "quarantined": result.quarantined_rows,
        }
    finally:
        platform.close()


def load(project: str, env: str) -> dict[str, Any]:
    platform = _platform(project, env)
    try:
        results = platform.load()
        return {
            "batches": len([r for r in results if not r.skipped]),
            "rows": sum(r.rows for r in results),
        }
    finally:
        platform.close()


def transform(project: str, env: str) -> dict[str, Any]:
    platform = _platform(project, env)
    try:
        run = platform.transform()
        return {"nodes": run.counts()}
    finally:
        platform.close()


def publish(project: str, env: str) -> dict[str, Any]:
    platform = _platform(project, env)
    try:
        result = platform.publish()
        return {"location": result.location, "tables": result.tables}
    finally:
        platform.close()
