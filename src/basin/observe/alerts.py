"""Alerts: incident events routed to the configured channels, each delivery retried
and recorded. Nothing here raises into a run: a channel that is down is recorded as
failed and tried again at the next dispatch (the next run, ``basin monitor``, or an
incident command)."""

from __future__ import annotations

import fnmatch
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from basin.common.logging import get_logger
from basin.common.types import parse_duration

if TYPE_CHECKING:
    from basin.config.models import ProjectConfig
    from basin.metadata.models import Incident
    from basin.metadata.store import MetadataStore
    from basin.observe.channels import Alert
    from basin.observe.incidents import Changes

log = get_logger(__name__)

SEVERITY_RANK = {"warn": 0, "error": 1}


@dataclass
class Outcome:
    """One delivery: ``sent``, ``failed`` or ``held`` (quiet hours)."""

    incident_id: int
    channel: str
    action: str
    status: str
    error: str | None = None
    attempts: int = 0


def events(changes: Changes) -> list[tuple[str, Incident]]:
    """The events of a reconciliation: opened → trigger, resolved → resolve."""
    return [("trigger", i) for i in changes.opened] + [("resolve", i) for i in changes.resolved]


PAGING = ("pagerduty",)
"""Channels that wake someone: an incident resolved before its page went out is not
paged at all. The others get it late, followed by its resolution."""


def dispatch(
    config: ProjectConfig,
    store: MetadataStore,
    now: datetime,
    new: list[tuple[str, Incident]],
    env: str,
) -> list[Outcome]:
    """Send ``new`` events, deliveries that failed or were held before, and reminders
    of open incidents nobody acknowledged, to every channel that routes them."""
    channels = config.alerts.channels
    if not channels:
        return []
    history = store.deliveries()
    open_now = store.incidents(open_only=True, limit=1000)
    outcomes: list[Outcome] = []
    for name, channel in channels.items():
        mine = [d for d in history if d.channel == name]
        outbox = _Outbox(config, store, now, env, name, channel, mine)
        outbox.send(_work(store, channel, new, mine, open_now, now))
        outcomes += outbox.outcomes
    return outcomes


def _work(
    store: MetadataStore,
    channel: Any,
    new: list[tuple[str, Incident]],
    mine: list[Any],
    open_now: list[Incident],
    now: datetime,
) -> list[tuple[str, Incident, int | None]]:
    """A channel's events to send, each once, oldest first: ``(action, incident, the
    earlier delivery record it retries)``."""
    candidates: list[tuple[str, Incident, int | None]] = []
    for d in mine:  # earlier deliveries that did not go out
        if d.status in ("failed", "held"):
            incident = store.incident(d.incident_id)
            if incident is not None:
                candidates.append((d.action, incident, d.id))
    candidates += [(action, incident, None) for action, incident in new]
    # Open incidents this channel was never told of (opened by an extract's broken
    # contract, before the channel was configured, or by a dispatch that crashed).
    told = {d.incident_id for d in mine if d.action == "trigger"}
    candidates += [("trigger", i, None) for i in open_now if i.id not in told]
    # Incidents it was told of that ended without a reconciliation (an extract's next
    # good batch ends its broken contract): their end, once.
    heard = {d.incident_id for d in mine if d.action == "trigger" and d.status == "sent"}
    ended = heard - {d.incident_id for d in mine if d.action == "resolve"}
    still_open = {i.id for i in open_now}
    for incident_id in sorted(ended - still_open):
        incident = store.incident(incident_id)
        if incident is not None and incident.resolved_at is not None:
            candidates.append(("resolve", incident, None))
    candidates += [(a, i, None) for a, i in _reminders(channel, open_now, mine, now)]
    work: dict[tuple[str, int], tuple[str, Incident, int | None]] = {}
    for action, incident, earlier in candidates:  # each event once, the oldest record's
        work.setdefault((action, incident.id), (action, incident, earlier))
    return list(work.values())


class _Outbox:
    """One channel's deliveries in one dispatch, recorded as they go."""

    def __init__(
        self,
        config: ProjectConfig,
        store: MetadataStore,
        now: datetime,
        env: str,
        name: str,
        channel: Any,
        mine: list[Any],
    ) -> None:
        self.config, self.store, self.now, self.env = config, store, now, env
        self.name, self.channel = name, channel
        self.sent = {(d.incident_id, d.action) for d in mine if d.status == "sent"}
        self.outcomes: list[Outcome] = []

    def send(self, work: list[tuple[str, Incident, int | None]]) -> None:
        for action, incident, earlier in work:
            over = action in ("trigger", "renotify") and incident.resolved_at is not None
            if over and (action == "renotify" or self.channel.kind in PAGING):
                # Resolved before it could be sent: nobody needs to be paged now.
                if earlier is not None:
                    self.store.mark_delivery(earlier, "dropped")
                continue
            outcome = self.deliver(action, incident, earlier)
            if over and outcome is not None and outcome.status == "sent":
                # Told late (the channel was down, or it was quiet hours) of an incident
                # that is over: its end follows, so the channel's record is whole.
                self.deliver("resolve", incident, None)

    def deliver(self, action: str, incident: Incident, earlier: int | None) -> Outcome | None:
        outcome = _deliver(
            self.config,
            self.store,
            self.name,
            self.channel,
            action,
            incident,
            self.now,
            self.sent,
            self.env,
        )
        if outcome is None:
            return None
        if outcome.status == "sent":
            self.sent.add((incident.id, action))
        if earlier is not None and outcome.status == "held":
            return outcome  # still quiet: the held record stands
        if earlier is not None:
            self.store.mark_delivery(earlier, "retried")
        self.store.record_delivery(
            incident.id, self.name, action, outcome.status, outcome.attempts, outcome.error
        )
        self.outcomes.append(outcome)
        return outcome


def _deliver(
    config: ProjectConfig,
    store: MetadataStore,
    name: str,
    channel: Any,
    action: str,
    incident: Incident,
    now: datetime,
    sent_before: set[tuple[int, str]],
    env: str,
) -> Outcome | None:
    """Send one event through one channel if the channel routes it and has not had it
    (``sent_before``: the channel's ``(incident, action)`` sent so far); None if not."""
    if not _routed(channel, store, incident):
        return None
    if action in ("resolve", "acknowledge") and (incident.id, "trigger") not in sent_before:
        return None  # never told about it: nothing to resolve there
    if action == "trigger" and (incident.id, "trigger") in sent_before:
        return None
    if (incident.id, action) in sent_before and action != "renotify":
        return None
    if action in ("trigger", "renotify") and incident.severity != "error" and _quiet(channel, now):
        return Outcome(incident.id, name, action, "held")
    from basin.observe.channels import DeliveryFailed, send

    alert = _alert(config, store, action, incident, env)
    error: str | None = None
    for attempt in range(config.alerts.attempts):
        try:
            send(channel, alert, config.alerts.timeout_seconds)
            log.info("alert %s of incident %d sent to %s", action, incident.id, name)
            return Outcome(incident.id, name, action, "sent", attempts=attempt + 1)
        except DeliveryFailed as exc:
            error = exc.message
            if attempt + 1 < config.alerts.attempts:
                time.sleep(0.5 * 2**attempt)
    log.warning(
        "alert %s of incident %d not delivered to %s after %d attempts (%s); tried again "
        "at the next run",
        action,
        incident.id,
        name,
        config.alerts.attempts,
        error,
    )
    return Outcome(incident.id, name, action, "failed", error, config.alerts.attempts)


def _routed(channel: Any, store: MetadataStore, incident: Incident) -> bool:
    if SEVERITY_RANK.get(incident.severity, 1) < SEVERITY_RANK[channel.min_severity]:
        return False
    if channel.kinds and incident.kind not in channel.kinds:
        return False
    subject = ".".join(x for x in (incident.source, incident.entity) if x)
    if channel.subjects and not any(fnmatch.fnmatch(subject, p) for p in channel.subjects):
        return False
    if channel.owners or channel.tags:
        owners, tags = _catalog_facts(store, incident)
        if channel.owners and not owners & set(channel.owners):
            return False
        if channel.tags and not tags & set(channel.tags):
            return False
    return True


def _catalog_facts(store: MetadataStore, incident: Incident) -> tuple[set[str], set[str]]:
    """Owners and tags the catalog records for the incident's subject (a source
    entity's source and raw datasets; for the publication, every published model)."""
    source, entity = incident.source or "", incident.entity or ""
    keys = {f"source.{source}.{entity}", f"raw.{source}__{entity}", f"lake.{source}.{entity}"}
    owners: set[str] = set()
    tags: set[str] = set()
    for d in store.datasets():
        if d.key in keys or (source == "basin" and d.key.startswith("published.")):
            if d.owner:
                owners.add(d.owner)
            tags.update(json.loads(d.tags or "[]"))
    return owners, tags


def _quiet(channel: Any, now: datetime) -> bool:
    if not channel.quiet_hours:
        return False
    start, end = (
        int(h) * 60 + int(m) for h, m in (p.split(":") for p in channel.quiet_hours.split("-"))
    )
    minute = now.hour * 60 + now.minute
    return start <= minute < end if start <= end else minute >= start or minute < end


def _reminders(
    channel: Any, open_now: list[Incident], mine: list[Any], now: datetime
) -> list[tuple[str, Incident]]:
    if not channel.renotify:
        return []
    every = parse_duration(channel.renotify)
    last: dict[int, datetime] = {}
    for d in mine:
        if d.status == "sent" and d.action in ("trigger", "renotify") and d.sent_at:
            last[d.incident_id] = max(last.get(d.incident_id, d.sent_at), d.sent_at)
    due = []
    for incident in open_now:
        sent = last.get(incident.id)
        if sent is not None and incident.acked_at is None and now - sent >= every:
            due.append(("renotify", incident))
    return due


def _alert(
    config: ProjectConfig, store: MetadataStore, action: str, incident: Incident, env: str
) -> Alert:
    from basin.observe.channels import Alert

    return Alert(
        action=action,
        incident_id=incident.id,
        fingerprint=incident.fingerprint or str(incident.id),
        kind=incident.kind,
        severity=incident.severity,
        subject=".".join(x for x in (incident.source, incident.entity) if x),
        message=incident.message,
        project=config.project,
        env=env,
        opened_at=incident.opened_at,
        event_at=incident.event_at,
        occurrences=incident.occurrences,
        link=config.alerts.link,
        details=_details(store, incident),
    )


def _details(store: MetadataStore, incident: Incident, limit: int = 5) -> list[str]:
    """For a closed gate: the failing checks of its run, with sample rows."""
    if incident.kind != "gate_failed" or not incident.run_id:
        return []
    lines = []
    for r in store.check_results(incident.run_id):
        if r.status not in ("fail", "error"):
            continue
        lines.append(f"{r.name} ({r.model or '?'}): {r.failures} failing")
        sample = json.loads(r.sample or "{}")
        for row in (sample.get("rows") or [])[:3]:
            lines.append(f"    {row}")
        if len(lines) >= limit * 4:
            break
    return lines
