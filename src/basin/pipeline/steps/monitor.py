"""Monitor: after each run (and on demand), evaluate the monitors and reconcile the
incidents. Observing never fails the run it observes: an error here is logged."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from basin.common.errors import ContractError, GateClosed, StepFailed
from basin.common.logging import get_logger
from basin.pipeline.resources import Resources

if TYPE_CHECKING:
    from basin.metadata.models import Incident
    from basin.observe.incidents import Changes
    from basin.observe.monitors import Finding

log = get_logger(__name__)


def monitor(
    res: Resources, run_id: str | None, *, send: bool = True
) -> tuple[list[Finding], Changes]:
    """Evaluate every monitor now, record the results, open or resolve incidents and
    (``send``) alert the channels."""
    from basin.metadata.store import utcnow
    from basin.observe import slos
    from basin.observe.alerts import events
    from basin.observe.incidents import reconcile
    from basin.observe.monitors import evaluate
    from basin.observe.slos import findings as slo_findings

    now = utcnow()
    findings = evaluate(res.project.config, res.store, now)
    findings += slo_findings(res.project.config, slos.evaluate(res.project.config, res.store, now))
    res.store.record_monitor_results(run_id, [f.record() for f in findings])
    changes = reconcile(res.store, findings)
    if send:
        alert(res, events(changes))
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    log.info("monitors: %s", ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    for f in findings:
        if f.status == "breach":
            log.warning("%s breach: %s", f.monitor, f.message)
    _say(changes)
    return findings, changes


def after_run(
    res: Resources, run_id: str, failure: StepFailed | None, *, monitors: bool = True
) -> None:
    """What a run ends with: its outcome as an incident (opened or resolved), then the
    monitors (``monitors`` and enabled in basin.yml); then one dispatch of the alerts.

    Under Airflow each task is a run of its own: a failed task reports its failure here
    (``monitors=False``), the publish task its success, and the DAG's ``monitor`` task
    evaluates the monitors whatever the outcome.
    """
    from basin.observe.alerts import events
    from basin.observe.incidents import Changes, run_outcome

    try:
        step, error, gate = None, None, False
        if failure is not None:
            step, error = failure.step, str(failure.cause)
            gate = _gate_closed(failure.cause)
        if failure is not None and isinstance(failure.cause, ContractError):
            # Each broken contract opened its own incident (naming the batch and the
            # fix): the run's failure is that problem, not another one.
            outcome = Changes()
        else:
            outcome = run_outcome(res.store, run_id, step, error, gate=gate)
        _say(outcome)
        new = events(outcome)
        if monitors and res.project.config.monitors.enabled:
            new += events(monitor(res, run_id, send=False)[1])
        alert(res, new)
    except Exception as exc:  # noqa: BLE001 - observing must never fail the run
        log.warning("monitors not evaluated: %s: %s", type(exc).__name__, exc)


def _gate_closed(cause: BaseException) -> bool:
    """The build did not pass the gate: a test failed, or publish held it back."""
    if isinstance(cause, GateClosed):
        return True
    run = getattr(cause, "dbt_run", None)
    return run is not None and any(
        n.resource_type in ("test", "data_test", "unit_test") for n in run.failed
    )


def _say(changes: Changes) -> None:
    for incident in changes.opened:
        log.warning(
            "incident %d opened (%s, %s): %s",
            incident.id,
            incident.kind,
            incident.severity,
            incident.message,
        )
    for incident in changes.resolved:
        log.info("incident %d resolved: %s", incident.id, incident.kind)


def alert(res: Resources, new: list[tuple[str, Incident]]) -> None:
    """Send incident events (and what earlier dispatches could not) to the channels."""
    from basin.metadata.store import utcnow
    from basin.observe.alerts import dispatch

    dispatch(res.project.config, res.store, utcnow(), new, res.env)


def write_metrics(res: Resources) -> Path | None:
    """The Prometheus textfile (``metrics.textfile``), replaced at once, after a run has
    ended (its status counted); None if off. Never raises: it is logged."""
    from basin.observe.metrics import exposition, write_textfile

    name = res.project.config.metrics.textfile
    if not name:
        return None
    path = res.project.state_path(name)
    try:
        write_textfile(path, exposition(res.store, res.project.config, res.env))
    except Exception as exc:  # noqa: BLE001 - metrics must never fail the run
        log.warning("metrics textfile %s not written: %s: %s", path, type(exc).__name__, exc)
        return None
    return path
