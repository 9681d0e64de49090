"""A generic webhook: the incident event as JSON."""

from __future__ import annotations

from typing import Any

from basin.observe.channels import Alert, post_json


def send(channel: Any, alert: Alert, timeout: float) -> None:
    headers = {k: v.get_secret_value() for k, v in channel.headers.items()}
    post_json(channel.url.get_secret_value(), alert.as_json(), timeout, headers)
