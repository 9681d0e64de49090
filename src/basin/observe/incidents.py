"""Incidents: opened by a breached monitor, a failed run, a failed gate or a missed
deadline; one open incident per fingerprint; resolved by hand or when the condition
clears, with the times to detect (MTTD) and to resolve (MTTR) recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from basin.common.errors import TerminalError

if TYPE_CHECKING:
    from basin.metadata.models import Incident
    from basin.metadata.store import MetadataStore
    from basin.observe.monitors import Finding

KINDS = {
    "freshness": "freshness_breach",
    "volume": "volume_anomaly",
    "schema": "schema_drift",
    "checks": "check_pass_rate",
    "slo": "slo_burn",
}
"""Monitor → the kind of incident its breach opens."""

RUN = ("basin", "run")
"""Subject of the incident a failed run opens (``source``, ``entity``)."""
GATE = ("basin", "gate")
"""Subject of the incident a build that did not pass the gate opens."""
DEADLINE = ("basin", "deadline")
"""Subject of the incident a run that did not publish by its deadline opens (Airflow's
deadline alert)."""


@dataclass
class Changes:
    """What one reconciliation did to the incidents."""

    opened: list[Incident] = field(default_factory=list)
    ongoing: list[Incident] = field(default_factory=list)
    resolved: list[Incident] = field(default_factory=list)


def subject(finding: Finding) -> tuple[str, str]:
    """``(source, entity)`` of the incident a finding opens."""
    if finding.source and finding.entity:
        return finding.source, finding.entity
    return "basin", finding.target


def reconcile(store: MetadataStore, findings: list[Finding]) -> Changes:
    """Open (or count again) an incident for each breach; resolve the open incident
    of each monitor and target that is ``ok`` again. ``unknown`` changes nothing."""
    changes = Changes()
    for finding in findings:
        kind = KINDS[finding.monitor]
        source, entity = subject(finding)
        if finding.status == "breach":
            incident, new = store.open_incident(
                kind,
                finding.message,
                severity=finding.severity,
                source=source,
                entity=entity,
                event_at=finding.event_at,
            )
            (changes.opened if new else changes.ongoing).append(incident)
        elif finding.status == "ok":
            changes.resolved += store.resolve_incidents(kind, source, entity)
    return changes


def run_outcome(
    store: MetadataStore, run_id: str, failed_step: str | None, error: str | None, gate: bool
) -> Changes:
    """A failed run opens an incident (a failed gate its own); a run that succeeds
    resolves both, and a missed deadline: the publication it waited for is made."""
    changes = Changes()
    if failed_step is None:
        changes.resolved += store.resolve_incidents("run_failed", *RUN)
        changes.resolved += store.resolve_incidents("gate_failed", *GATE)
        changes.resolved += store.resolve_incidents("deadline_missed", *DEADLINE)
        return changes
    kind, where, what = (
        ("gate_failed", GATE, "did not pass the quality gate")
        if gate
        else ("run_failed", RUN, f"failed at step {failed_step}")
    )
    incident, new = store.open_incident(
        kind,
        f"run {run_id} {what}: {error or ''}".strip(),
        source=where[0],
        entity=where[1],
        run_id=run_id,
    )
    (changes.opened if new else changes.ongoing).append(incident)
    return changes


def acknowledge(store: MetadataStore, incident_id: int, by: str, now: datetime) -> Incident:
    """Someone is on it: alerts stop re-notifying (the incident stays open)."""
    found = _open(store, incident_id)
    return store.update_incident(found.id, acked_at=found.acked_at or now, acked_by=by) or found


def resolve(store: MetadataStore, incident_id: int, by: str, now: datetime) -> Incident:
    """Close an incident by hand (if its condition persists, the next evaluation opens
    a new one)."""
    found = _open(store, incident_id)
    return store.update_incident(found.id, resolved_at=now, resolved_by=by) or found


def _open(store: MetadataStore, incident_id: int) -> Incident:
    found = store.incident(incident_id)
    if found is None:
        raise TerminalError(
            f"no incident {incident_id} in this environment",
            hint="`basin incidents list --all` shows their ids",
        )
    if found.resolved_at is not None:
        raise TerminalError(
            f"incident {incident_id} was resolved already ({found.resolved_at:%Y-%m-%d %H:%M} "
            f"UTC by {found.resolved_by or 'someone'})",
            hint="`basin incidents list` shows the open ones",
        )
    return found


def time_to_detect(incident: Incident) -> timedelta | None:
    """From when the problem began to when Basin opened the incident."""
    if incident.event_at is None:
        return None
    return max(incident.opened_at - incident.event_at, timedelta(0))


def time_to_resolve(incident: Incident) -> timedelta | None:
    if incident.resolved_at is None:
        return None
    return incident.resolved_at - incident.opened_at
