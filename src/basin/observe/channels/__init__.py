"""Alert channels, one module each, the same ``send(channel, action, alert, timeout)``
in every one; it raises :class:`DeliveryFailed` when the receiver did not take it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from basin.common.errors import TransientError


class DeliveryFailed(TransientError):
    """A receiver refused or could not be reached; the delivery is tried again."""


@dataclass
class Alert:
    """What every channel says about one incident event."""

    action: str  # trigger | acknowledge | resolve | renotify
    incident_id: int
    fingerprint: str
    kind: str
    severity: str  # error | warn
    subject: str
    message: str
    project: str
    env: str
    opened_at: datetime
    event_at: datetime | None = None
    occurrences: int = 1
    link: str | None = None
    details: list[str] = field(default_factory=list)
    """More lines: the failing checks with sample rows, for a gate."""

    @property
    def title(self) -> str:
        verb = {
            "trigger": "opened",
            "renotify": "still open",
            "acknowledge": "acknowledged",
            "resolve": "resolved",
        }[self.action]
        return f"[{self.project}/{self.env}] {self.kind} {verb}: {self.subject}"

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "incident": {
                "id": self.incident_id,
                "fingerprint": self.fingerprint,
                "kind": self.kind,
                "severity": self.severity,
                "subject": self.subject,
                "message": self.message,
                "opened_at": self.opened_at.isoformat(),
                "began_at": self.event_at.isoformat() if self.event_at else None,
                "occurrences": self.occurrences,
                "details": self.details,
            },
            "project": self.project,
            "env": self.env,
            "link": self.link,
        }


def send(channel: Any, alert: Alert, timeout: float) -> None:
    """Deliver ``alert`` through ``channel`` (its ``kind`` names the module)."""
    module = importlib.import_module(f"basin.observe.channels.{channel.kind}")
    module.send(channel, alert, timeout)


def post_json(
    url: str, body: dict[str, Any], timeout: float, headers: dict[str, str] | None = None
) -> Any:
    """POST JSON; raises DeliveryFailed on a connection error or a non-2xx answer
    (whose body is kept, cut, for the record — never the URL: it may be the secret)."""
    import httpx

    try:
        response = httpx.post(url, json=body, timeout=timeout, headers=headers or {})
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    if response.status_code // 100 != 2:
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:300]}")
    return response
