"""E-mail through SMTP: a plain-text body and an HTML alternative."""

from __future__ import annotations

import html
import smtplib
from email.message import EmailMessage
from typing import Any

from basin.observe.channels import Alert, DeliveryFailed


def message(channel: Any, alert: Alert) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = alert.title
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.to)
    lines = [
        alert.message,
        "",
        f"severity: {alert.severity}",
        f"incident: #{alert.incident_id} ({alert.occurrences}×), opened "
        f"{alert.opened_at:%Y-%m-%d %H:%M} UTC",
        *alert.details,
        "",
        f"basin incidents show {alert.incident_id}" + (f" · {alert.link}" if alert.link else ""),
    ]
    msg.set_content("\n".join(lines))
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in (
            ("severity", alert.severity),
            ("subject", alert.subject),
            ("incident", f"#{alert.incident_id} ({alert.occurrences}×)"),
            ("opened", f"{alert.opened_at:%Y-%m-%d %H:%M} UTC"),
        )
    )
    details = "<pre>" + html.escape("\n".join(alert.details)) + "</pre>" if alert.details else ""
    link = f"<p><a href='{html.escape(alert.link)}'>Open</a></p>" if alert.link else ""
    msg.add_alternative(
        f"<h2>{html.escape(alert.title)}</h2><p>{html.escape(alert.message)}</p>"
        f"<table>{rows}</table>{details}{link}",
        subtype="html",
    )
    return msg


def send(channel: Any, alert: Alert, timeout: float) -> None:
    try:
        with smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=timeout) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.username:
                password = channel.password.get_secret_value() if channel.password else ""
                smtp.login(channel.username, password)
            smtp.send_message(message(channel, alert))
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
