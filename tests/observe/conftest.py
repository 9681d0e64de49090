"""Helpers of the observability tests: read a project's metadata store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def from_store(project: Path, read: Callable[[Any], Any]) -> Any:
    """``read(store)`` on the project's metadata store (dev environment)."""
    from basin.config import load_project
    from basin.metadata.store import open_store

    p = load_project(project)
    store = open_store(p.metadata_url, env=p.env_name)
    try:
        return read(store)
    finally:
        store.close()


def open_incidents(project: Path) -> list:
    return from_store(project, lambda s: s.incidents(open_only=True))


def deliveries(project: Path) -> list:
    return from_store(project, lambda s: s.deliveries())


def free_port() -> int:
    """A port nothing listens on yet (127.0.0.1)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
