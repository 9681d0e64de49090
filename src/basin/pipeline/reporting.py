"""Progress of long work, without the façade knowing about terminals.

The CLI passes a Rich implementation (progress bars); library callers, Airflow tasks
and tests get the silent default. Messages are not progress: they are log records
under the ``basin`` logger (``basin.common.logging``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Task(Protocol):
    def advance(self, n: int = 1, *, description: str | None = None) -> None: ...

    def update(self, *, total: int | None = None, description: str | None = None) -> None: ...


class Reporter(Protocol):
    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        """A unit of long work with a progress bar."""
        yield  # type: ignore[misc]


class _NullTask:
    def advance(self, n: int = 1, *, description: str | None = None) -> None:
        pass

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        pass


class NullReporter:
    """Shows no progress."""

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        yield _NullTask()
