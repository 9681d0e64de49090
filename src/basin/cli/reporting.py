"""How the CLI shows what Basin does: Rich progress bars, and Basin's log records
rendered as readable lines (or as JSON lines with ``--log-format json``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

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
from rich.text import Text

from basin.common.logging import FIELDS, ROOT, BasinRecords


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
    """Shows one progress bar per long task (hidden when not a TTY)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None

    @property
    def live_console(self) -> Console:
        """Where to print now: above the progress bar while one is shown."""
        return self._progress.console if self._progress else self.console

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


STYLES = {logging.WARNING: "yellow", logging.ERROR: "red", logging.CRITICAL: "bold red"}


class RichLogHandler(logging.Handler):
    """Basin's records as lines under the step they belong to: a step's heading in
    bold, warnings in yellow, errors in red (never read as Rich markup)."""

    def __init__(self, reporter: RichReporter) -> None:
        super().__init__(logging.INFO)
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if getattr(record, "heading", False):
                line = Text(text, style="bold")
            else:
                line = Text("  " + text, style=STYLES.get(record.levelno, ""))
            self.reporter.live_console.print(line)
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the run, step,
    source and entity it belongs to (when known)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in (*FIELDS, "hint", "exit_code"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


_installed: list[logging.Handler] = []


LIBRARIES = ("sqlglot", "urllib3", "py.warnings")
"""Loggers whose warnings concern the library's own workings, not the user's data
(sqlglot on SQL it cannot trace, urllib3 on a retried connection, Python warnings):
Basin says what matters itself ("not traced", "retrying"); ``--verbose`` shows them."""


_QUIET = logging.NullHandler()


def install(
    reporter: RichReporter, log_format: str, stream: object | None = None, verbose: bool = False
) -> None:
    """Route the ``basin`` logger's records to the terminal (text) or ``stream`` (JSON)."""
    logger = logging.getLogger(ROOT)
    uninstall()  # a second command in one process (tests) replaces the first's
    new: logging.Handler
    if log_format == "json":
        new = logging.StreamHandler(stream)  # type: ignore[arg-type]
        new.setFormatter(JsonLogFormatter())
    else:
        new = RichLogHandler(reporter)
    new.setLevel(logging.INFO)
    new.addFilter(BasinRecords())
    logger.addHandler(new)
    _installed.append(new)
    logger.setLevel(logging.INFO)
    # Shown once: not again by a handler a library put on the root logger (dlt calls
    # logging.basicConfig), which printed every line twice.
    logger.propagate = False
    logging.captureWarnings(True)
    for name in LIBRARIES:
        library = logging.getLogger(name)
        library.propagate = False  # never "WARNING:sqlglot:…" through that root handler
        # A handler either way: a logger without one falls back to printing on stderr.
        library.addHandler(new if verbose else _QUIET)


def uninstall() -> None:
    """Undo :func:`install` (a command run inside another program, e.g. tests)."""
    logger = logging.getLogger(ROOT)
    while _installed:
        handler = _installed.pop()
        for name in (ROOT, *LIBRARIES):
            logging.getLogger(name).removeHandler(handler)
    for name in LIBRARIES:
        logging.getLogger(name).removeHandler(_QUIET)
    logger.propagate = True
    for name in LIBRARIES:
        logging.getLogger(name).propagate = True
    logging.captureWarnings(False)
