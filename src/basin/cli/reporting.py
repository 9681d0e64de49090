"""Rich progress bars and messages for the façade's :class:`Reporter`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from basin.common.redaction import redact


class _RichTask:
    def __init__(self, progress: Progress, task_id: TaskID) -> None:
        self.progress = progress
        self.task_id = task_id

    def advance(self, n: int = 1, *, description: str | None = None) -> None:
        if description is not None:
            self.progress.update(self.task_id, description=description)
        self.progress.advance(self.task_id, n)

    def update(self, *, total: int | None = None, description: str | None = None) -> None:
        kwargs: dict[str, object] = {}
        if total is not None:
            kwargs["total"] = total
        if description is not None:
            kwargs["description"] = description
        self.progress.update(self.task_id, **kwargs)  # type: ignore[arg-type]


class RichReporter:
    """Prints messages and shows one progress bar per long task (hidden when not a TTY)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None

    def message(self, text: str) -> None:
        target = self._progress.console if self._progress else self.console
        target.print(redact(text))

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[_RichTask]:
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        self._progress = progress
        with progress:
            task_id = progress.add_task(description, total=total)
            try:
                yield _RichTask(progress, task_id)
            finally:
                self._progress = None
