"""Basin's log records: every module logs under the ``basin`` logger.

Only the doors decide how a record looks (the CLI renders it with Rich or as JSON
lines; under Airflow it lands in the task log). Two things hold wherever a record
goes, so they are done here, on each Basin logger:

- its text is redacted (``basin.common.redaction``): no secret reaches a log;
- it carries the run, step, source and entity it belongs to (``log_context``), as
  record attributes ``run_id``, ``step``, ``source``, ``entity``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from basin.common.redaction import redact

ROOT = "basin"
FIELDS = ("run_id", "step", "source", "entity")

_context: ContextVar[dict[str, str]] = ContextVar("basin_log_context", default={})  # noqa: B039 - never mutated


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Records logged inside carry these fields (``run_id``, ``step``, ``source``,
    ``entity``). Threads start with an empty context: submit work with
    ``contextvars.copy_context().run`` to keep it."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class BasinRecords(logging.Filter):
    """Redacts a record's text and adds the current context's fields (on every Basin
    logger; handlers of the doors add it too, for records of other loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


_FILTER = BasinRecords()
logging.getLogger(ROOT).addHandler(logging.NullHandler())


def get_logger(name: str) -> logging.Logger:
    """The logger of a Basin module (``get_logger(__name__)``)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
