"""Runs and steps: the project lock, the records in the metadata store, retries.

A command is one run; each step of it is recorded with its rows and detail (or its
error). One writing command runs per project and environment at a time; runs whose
process died are marked abandoned by the next command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from basin.common.errors import BasinError, TransientError
from basin.common.logging import get_logger, log_context
from basin.pipeline.resources import Resources

log = get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class StepOutcome(Generic[R]):
    """What a step did: its result for the caller, and rows/detail for the store."""

    name: str
    result: R
    rows: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    run_id: str
    status: str
    steps: list[StepOutcome[Any]]
    seconds: float


def _holder(res: Resources) -> str:
    """Who holds the project lock, for the message of a command that cannot take it."""
    running = res.store.running_runs()
    if not running:
        return (
            f"another Basin command is in progress on {res.project.config.project} (env {res.env})"
        )
    r = running[0]
    return (
        f"another run {r.run_id} (`basin {r.command}`) is in progress since "
        f"{r.started_at:%Y-%m-%d %H:%M:%S} UTC, pid {r.pid} on {r.host}"
    )


@contextmanager
def locked(res: Resources, *, shared: bool = False) -> Iterator[None]:
    """One writing command per project and environment (extracts share it)."""
    with res.store.locks.hold(
        res.lock_name(),
        shared=shared,
        wait=res.wait,
        busy=lambda: _holder(res),
        waiting=lambda who: log.warning("waiting: %s", who),
    ):
        sweep_abandoned(res, exclusive=not shared)
        yield


def sweep_abandoned(res: Resources, *, exclusive: bool) -> None:
    """Mark runs whose process died (kill -9, a lost machine) as abandoned.

    Holding the project lock exclusively, every run still marked running is dead:
    each live writing command holds the lock. Holding it shared, only runs of this
    host whose process is gone are.
    """
    import os
    import socket

    from basin.common.processes import process_alive

    host = socket.gethostname()
    dead = [
        r
        for r in res.store.running_runs()
        if exclusive
        or (r.host == host and r.pid and r.pid != os.getpid() and not process_alive(r.pid))
    ]
    if not dead:
        return
    res.store.abandon_runs(
        [r.run_id for r in dead], "abandoned: its process ended without finishing"
    )
    for r in dead:
        log.warning(
            "run %s (`basin %s`, pid %s on %s) ended without finishing: marked abandoned",
            r.run_id,
            r.command,
            r.pid,
            r.host,
        )
    if exclusive:
        res.warehouse.recover()


@contextmanager
def recorded_run(res: Resources, command: str, *, shared: bool = False) -> Iterator[str]:
    """Hold the project lock and record a run of ``command``; yields its run id."""
    with locked(res, shared=shared), _run_record(res, command) as run_id:
        yield run_id


@contextmanager
def _run_record(res: Resources, command: str) -> Iterator[str]:
    from basin.lineage.events import run_uuid

    run_id = res.store.start_run(command)
    # The run is the parent job of every step's lineage events.
    res.command = command
    lineage_run = run_uuid(run_id, command)
    res.lineage.emit("START", command, lineage_run, job_type="JOB")
    with log_context(run_id=run_id):
        try:
            yield run_id
        except BaseException as exc:
            res.store.finish_run(run_id, "failed", error=one_line(exc))
            res.lineage.emit("FAIL", command, lineage_run, error=exc, job_type="JOB")
            _lineage_delivery(res)
            raise
        res.store.finish_run(run_id, "success")
        res.lineage.emit("COMPLETE", command, lineage_run, job_type="JOB")
        _lineage_delivery(res)


def _lineage_delivery(res: Resources) -> None:
    """Write the run's lineage events before the command returns; say what failed."""
    res.lineage.flush()
    if res.lineage.errors:
        spooled = f" (kept in {res.lineage.spool_file})" if res.lineage.spool_file.exists() else ""
        log.warning(
            "%d lineage event(s) could not be sent%s: %s",
            len(res.lineage.errors),
            spooled,
            res.lineage.errors[0],
        )
        res.lineage.errors.clear()


def record_step(
    res: Resources, run_id: str, name: str, fn: Callable[[], StepOutcome[R]]
) -> StepOutcome[R]:
    """Run one step of a run, recording it (rows, detail, or its error)."""
    step_id = res.store.start_step(run_id, name)
    with log_context(step=name):
        try:
            outcome = fn()
        except BaseException as exc:
            res.store.finish_step(step_id, "failed", error=one_line(exc))
            raise
    res.store.finish_step(step_id, "success", rows=outcome.rows, detail=outcome.detail)
    return outcome


def single(
    res: Resources, command: str, fn: Callable[[str], StepOutcome[R]], *, shared: bool = False
) -> R:
    """A command that is one step: lock, run record, step record; returns its result."""
    with recorded_run(res, command, shared=shared) as run_id:
        return record_step(res, run_id, command, lambda: fn(run_id)).result


def recorded_after(res: Resources, command: str, fn: Callable[[], StepOutcome[R]]) -> R:
    """A one-step command recorded as a run only once it has ended (success or not),
    under the lock: for commands that replace the store's own rows (a restore), whose
    run record would otherwise be replaced with them."""
    with locked(res):
        error: BaseException | None = None
        try:
            outcome = fn()
        except BaseException as exc:  # recorded below, then raised again
            error = exc

        def ended() -> StepOutcome[R]:
            if error is not None:
                raise error
            return outcome

        with _run_record(res, command) as run_id:
            return record_step(res, run_id, command, ended).result


def retrying(
    fn: Callable[[], T],
    *,
    attempts: int,
    what: str,
    only: type[TransientError] = TransientError,
) -> T:
    """``fn()``, tried again after an ``only`` error up to ``attempts`` times in all,
    waiting 1 s, 2 s, 4 s … (at most 30 s); the last error says how many attempts.
    Each retry is logged as a warning naming ``what``."""
    import tenacity

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, BasinError):
            log.warning(
                "%s: attempt %d failed (%s); retrying",
                what,
                state.attempt_number,
                exc.message.splitlines()[0],
            )

    try:
        for attempt in tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_exponential(multiplier=1, max=30),
            retry=tenacity.retry_if_exception_type(only),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                return fn()
    except only as exc:
        if attempts > 1:
            exc.message += f" (after {attempts} attempts)"
        raise
    raise AssertionError("unreachable")  # pragma: no cover


def entity_failure(source: str, entity: str, exc: BasinError) -> str:
    """One entity's error for a step's summary: its message, then its hint."""
    name = f"{source}.{entity}"
    text = name + ": " + exc.message.removeprefix(name + ": ")
    return text + (f"\n    hint: {exc.hint}" if exc.hint else "")


def one_line(exc: BaseException) -> str:
    """An exception as stored in a run or step record (bounded)."""
    text = str(exc) or type(exc).__name__
    return text if len(text) < 4000 else text[:4000] + "…"
