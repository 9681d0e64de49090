"""PagerDuty Events API v2: one alert per incident (``dedup_key`` = its fingerprint),
triggered, acknowledged and resolved as the incident is."""

from __future__ import annotations

from typing import Any

from basin.observe.channels import Alert, DeliveryFailed, post_json

ACTIONS = {
    "trigger": "trigger",
    "renotify": "trigger",
    "acknowledge": "acknowledge",
    "resolve": "resolve",
}


def event(routing_key: str, alert: Alert) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": ACTIONS[alert.action],
        "dedup_key": alert.fingerprint,
    }
    if body["event_action"] == "trigger":
        body["payload"] = {
            "summary": f"{alert.title}: {alert.message}"[:1024],
            "source": f"basin/{alert.project}/{alert.env}",
            "severity": "error" if alert.severity == "error" else "warning",
            "timestamp": (alert.event_at or alert.opened_at).isoformat(),
            "component": alert.subject,
            "group": alert.env,
            "class": alert.kind,
            "custom_details": {"incident": alert.incident_id, "details": alert.details},
        }
        if alert.link:
            body["links"] = [{"href": alert.link, "text": "Basin"}]
    return body


def send(channel: Any, alert: Alert, timeout: float) -> None:
    response = post_json(
        channel.events_url, event(channel.routing_key.get_secret_value(), alert), timeout
    )
    if response.status_code != 202:  # the Events API answers 202 Accepted
        raise DeliveryFailed(f"HTTP {response.status_code} (expected 202): {response.text[:300]}")
