"""Slack incoming webhooks: one Block Kit message per incident event."""

from __future__ import annotations

from typing import Any

from basin.observe.channels import Alert, post_json

ICON = {"trigger": "🔴", "renotify": "🔴", "acknowledge": "🟡", "resolve": "✅"}


def blocks(alert: Alert) -> list[dict[str, Any]]:
    """The message: a header, the incident's facts, what failed, and the link."""
    out: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"{ICON[alert.action]} {alert.title}"[:150]},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": alert.message[:2900]}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
                {
                    "type": "mrkdwn",
                    "text": f"*Incident*\n#{alert.incident_id} ({alert.occurrences}×)",
                },
                {"type": "mrkdwn", "text": f"*Opened*\n{alert.opened_at:%Y-%m-%d %H:%M} UTC"},
                {"type": "mrkdwn", "text": f"*Subject*\n{alert.subject}"},
            ],
        },
    ]
    if alert.details:
        text = "\n".join(alert.details)[:2900]
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{text}```"}})
    context = f"`basin incidents show {alert.incident_id}`"
    if alert.link:
        context = f"<{alert.link}|Open> · " + context
    out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    return out


def send(channel: Any, alert: Alert, timeout: float) -> None:
    post_json(
        channel.url.get_secret_value(),
        {"text": f"{alert.title}: {alert.message}"[:3000], "blocks": blocks(alert)},
        timeout,
    )
