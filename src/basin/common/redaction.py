"""One choke point for secrets: every error text Basin stores, prints or sends goes
through :func:`redact`.

Two nets, because a driver's message can quote a secret in any form:

- the values themselves: every ``SecretStr`` field of the loaded config and every
  value substituted from ``${env:…}`` (long enough to be a secret) is registered when
  the config is loaded, and replaced wherever it appears;
- the shapes: the password of a URL (``scheme://user:PASSWORD@host``), ``password=``
  in a libpq connection string, ``token=``/``api_key=``/``secret=`` pairs and
  ``Bearer`` tokens, whether or not Basin knew the value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "***"
MIN_SUBSTITUTED = 8
"""Shorter values from ``${env:…}`` (ports, flags) are not treated as secrets."""

_lock = threading.Lock()
_secrets: set[str] = set()

_KEYS = (
    r"(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key)"
)
_PATTERNS = [
    # scheme://user:password@host
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]*:)([^@\s/]+)(@)"), r"\1" + MASK + r"\3"),
    # password=... in a libpq conninfo or a query string, quoted or not
    (
        re.compile(
            rf"(\b{_KEYS}\s*=\s*)('(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;,'\")]+)", re.IGNORECASE
        ),
        r"\1" + MASK,
    ),
    # "password": "..." in JSON
    (re.compile(rf'("{_KEYS}"\s*:\s*")([^"]*)(")', re.IGNORECASE), r"\1" + MASK + r"\3"),
    (re.compile(r"(\bBearer\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE), r"\1" + MASK),
]


def register(values: Iterable[str | None], *, min_length: int = 3) -> None:
    """Remember secret values so that :func:`redact` hides them wherever they appear."""
    with _lock:
        for value in values:
            if value and len(value) >= min_length:
                _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every known secret and every secret-shaped part masked."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def secrets_of(model: object) -> list[str]:
    """Every ``SecretStr`` value inside a pydantic model (nested models, dicts, lists)."""
    from pydantic import BaseModel, SecretStr

    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name, None))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(model)
    return found
