"""How the façade reports progress without knowing about terminals.

The CLI passes a Rich implementation; library callers and tests get the silent
default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Task(Protocol):
    def advance(self, n: int = 1, *, description: str | None = None) -> None: ...

    def update(self, *, total: int | None = None, description: str | None = None) -> None: ...


class Reporter(Protocol):
    def message(self, text: str) -> None:
        """A line for the user (already formatted, may hold Rich markup)."""

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
    """Says nothing."""

    def message(self, text: str) -> None:
        pass

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        yield _NullTask()
