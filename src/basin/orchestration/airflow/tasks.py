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
def opened(project: str, env: str) -> Iterator[Any]:
    """The project's façade, closed afterwards."""
    platform = _platform(project, env)
    try:
        yield platform
    finally:
        platform.close()


@contextmanager
def _task(project: str, env: str) -> Iterator[Any]:
    """A task's façade; the task is appended to the audit log as ``airflow <task>``,
    by ``BASIN_ACTOR`` or else ``service:airflow``."""
    import os

    from basin.access.audit import record

    with opened(project, env) as platform:
        outcome, detail = "failed", None
        try:
            with _failing_fast():
                yield platform
            outcome = "success"
        except BaseException as exc:
            from basin.common.redaction import redact

            detail = redact(str(exc))
            raise
        finally:
            task_id, run_id = _airflow_ids()
            record(
                platform.project,
                f"airflow {task_id}",
                [f"run_id={run_id}"],
                outcome,
                detail=detail,
                who=os.environ.get("BASIN_ACTOR") or "service:airflow",
                store=platform.store,
            )


def _airflow_ids() -> tuple[str, str]:
    """The running task's id and its DAG run's id."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    ti = context.get("ti") or context.get("task_instance")
    return str(getattr(ti, "task_id", "?")), str(context.get("run_id") or "?")


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
    """Publish; then the DAG run has succeeded: its failure, gate and deadline incidents
    are resolved (as a ``basin run`` that succeeds resolves them)."""
    from basin.pipeline.steps.monitor import after_run

    with _task(project, env) as platform:
        result = platform.publish()
        after_run(platform.resources, _airflow_ids()[1], None, monitors=False)
        return {"location": result.location, "tables": result.tables}


def monitor(project: str, env: str) -> dict[str, Any]:
    """The DAG run's last task, whatever happened before it (an Airflow teardown: it
    does not change the run's state): evaluate the monitors, send the alerts, write the
    metrics textfile. Observing never fails: errors are logged."""
    from basin.pipeline.steps.monitor import write_metrics

    with opened(project, env) as platform:
        counts: dict[str, int] = {}
        if platform.project.config.monitors.enabled:
            try:
                findings, _changes = platform.monitor()
                for f in findings:
                    counts[f.status] = counts.get(f.status, 0) + 1
            except Exception as exc:  # noqa: BLE001 - observing must never fail the run
                from basin.common.logging import get_logger

                get_logger(__name__).warning(
                    "monitors not evaluated: %s: %s", type(exc).__name__, exc
                )
        write_metrics(platform.resources)
        return counts
