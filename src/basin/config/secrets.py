"""Secret providers of ``${provider:reference}`` in basin.yml.

- ``${env:NAME}`` / ``${env:NAME:-default}``: an environment variable (``.env`` read
  first);
- ``${file:/run/secrets/db_password}``: a file's content without its trailing newline
  (Docker and Kubernetes secrets); a relative path is relative to basin.yml's folder;
- ``${aws-sm:name}`` / ``${aws-sm:name#key}``: AWS Secrets Manager, the secret's
  string or one key of its JSON; credentials, region and endpoint come from the AWS
  chain (``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``…), never from basin.yml.

Each value is fetched at most once per process (cached here, in memory only) and
registered with :mod:`basin.common.redaction`, so it is masked wherever Basin would
write or print it. A value never reaches disk through Basin.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

REFERENCE = re.compile(r"\$\{([a-z][a-z0-9-]*):([^}]*)\}")
PROVIDERS = ("env", "file", "aws-sm")

_cache: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


class SecretUnavailable(Exception):
    """A reference that does not resolve; the message names it, never a value."""


@dataclass(frozen=True)
class Resolved:
    """A reference that resolved, and where in basin.yml it is (for `basin doctor`)."""

    path: str
    reference: str
    provider: str


def resolve(provider: str, reference: str, environ: dict[str, str], root: Path | None) -> str:
    """The value of one ``${provider:reference}`` (``env`` is not cached: it is the
    environment itself)."""
    if provider == "env":
        name, sep, default = reference.partition(":-")
        if name in environ:
            return environ[name]
        if sep:
            return default
        raise SecretUnavailable(
            f"environment variable {name} is not set (export it or add it to .env)"
        )
    if provider not in PROVIDERS:
        raise SecretUnavailable(
            f"unknown secret provider {provider!r} in ${{{provider}:…}}: use "
            + ", ".join(f"${{{p}:…}}" for p in PROVIDERS)
        )
    key = (provider, reference)
    with _lock:
        if key in _cache:
            return _cache[key]
    value = _file(reference, root) if provider == "file" else _aws_sm(reference)
    with _lock:
        _cache[key] = value
    return value


def _file(reference: str, root: Path | None) -> str:
    path = Path(reference)
    if not path.is_absolute() and root is not None:
        path = root / path
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        raise SecretUnavailable(f"secret file {path} does not exist") from None
    except OSError as exc:
        raise SecretUnavailable(f"secret file {path} cannot be read: {exc.strerror}") from None


def _aws_sm(reference: str) -> str:
    name, _, field = reference.partition("#")
    if not name:
        raise SecretUnavailable("${aws-sm:…} needs a secret name: ${aws-sm:name} or name#key")
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise SecretUnavailable(
            f"${{aws-sm:{reference}}} needs boto3: pip install 'basin[aws]'"
        ) from None
    try:
        client = boto3.session.Session().client("secretsmanager")
        answer = client.get_secret_value(SecretId=name)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise SecretUnavailable(
            f"AWS Secrets Manager secret {name!r}: {error.get('Code', 'error')}: "
            f"{error.get('Message', '')}".rstrip(": ")
        ) from None
    except BotoCoreError as exc:
        raise SecretUnavailable(f"AWS Secrets Manager secret {name!r}: {exc}") from None
    text = answer.get("SecretString")
    if text is None:
        raise SecretUnavailable(f"AWS Secrets Manager secret {name!r} is binary, not a string")
    if not field:
        return str(text)
    try:
        document = json.loads(text)
    except ValueError:
        raise SecretUnavailable(
            f"AWS Secrets Manager secret {name!r} is not JSON: use ${{aws-sm:{name}}} for "
            "its whole string"
        ) from None
    if not isinstance(document, dict) or field not in document:
        keys = ", ".join(sorted(document)) if isinstance(document, dict) else "none"
        raise SecretUnavailable(
            f"AWS Secrets Manager secret {name!r} has no key {field!r} (keys: {keys})"
        )
    return str(document[field])


def forget() -> None:
    """Drop the cached values (tests; a long-lived process after a rotation)."""
    with _lock:
        _cache.clear()
