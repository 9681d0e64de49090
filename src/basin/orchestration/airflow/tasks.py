"""What the Airflow tasks run: one façade call each. Imported by the worker, not at parse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOCK_WAIT_SECONDS = 600.0


def _platform(project: str, env: str) -> Any:
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    # A task queues behind a command already running on the project (a manual
    # `basin run`, another DAG run's publish) rather than failing and retrying.
    return Platform(load_project(Path(project), env), wait=LOCK_WAIT_SECONDS)


@contextmanager
def _failing_fast() -> Iterator[None]:
    """A TerminalError (bad config, broken contract, failed gate) fails the task at
    once: retrying it unchanged would fail the same way, and only delay the alert.
    Transient errors (unreachable source or warehouse, a busy lock) go on to
    Airflow's retries."""
    from basin.common.errors import TerminalError

    try:
        yield
    except TerminalError as exc:
        from airflow.sdk.exceptions import AirflowFailException

        from basin.common.redaction import redact

        raise AirflowFailException(redact(str(exc))) from exc


@contextmanager
def _task(project: str, env: str) -> Iterator[Any]:
    platform = _platform(project, env)
    try:
        with _failing_fast():
            yield platform
    finally:
        platform.close()


def extract(project: str, env: str, entity: str) -> dict[str, Any]:
    with _task(project, env) as platform:
        [result] = platform.extract([entity])
        return {
            "batch_id": result.batch_id,
            "rows": result.rows,
            "quarantined": result.quarantined_rows,
        }


def load(project: str, env: str) -> dict[str, Any]:
    with _task(project, env) as platform:
        results = platform.load()
        return {
            "batches": len([r for r in results if not r.skipped]),
            "rows": sum(r.rows for r in results),
        }


def transform(project: str, env: str) -> dict[str, Any]:
    with _task(project, env) as platform:
        run = platform.transform()
        return {"nodes": run.counts()}


def publish(project: str, env: str) -> dict[str, Any]:
    with _task(project, env) as platform:
        result = platform.publish()
        return {"location": result.location, "tables": result.tables}
