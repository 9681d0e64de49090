"""Locks that keep two writing commands of one project and environment apart.

They live where the metadata store lives, so they hold wherever the store is shared:

- PostgreSQL store: session-level advisory locks (``pg_try_advisory_lock``) on a
  connection kept open while the lock is held, so they also hold across machines;
- SQLite store: ``flock`` on a file beside the database (one file per lock name).

Both are released by the operating system or the server when the holding process dies
(``kill -9`` included): a dead holder never blocks the next command, and the next
command finds its runs still marked ``running`` and marks them ``abandoned``.

A lock is shared or exclusive: entity extractions hold the project lock shared (many
extract tasks of one Airflow DAG run side by side) and their entity's lock exclusive;
every other writing command holds the project lock exclusive.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from basin.common.errors import TransientError

POLL_SECONDS = 0.5


class LockBusy(TransientError):
    """Another command holds the lock; retrying later may succeed."""

    exit_code = 75  # EX_TEMPFAIL


def _advisory_key(name: str) -> int:
    digest = hashlib.sha256(("basin:" + name).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class _Held:
    def __init__(self, release: Callable[[], None]) -> None:
        self._release = release

    def release(self) -> None:
        release, self._release = self._release, lambda: None
        release()


def _try_file(path: Path, shared: bool) -> _Held | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise

    def release() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    return _Held(release)


def _try_advisory(engine: Engine, name: str, shared: bool) -> _Held | None:
    key = _advisory_key(name)
    suffix = "_shared" if shared else ""
    conn = engine.connect()
    try:
        got = conn.execute(text(f"select pg_try_advisory_lock{suffix}(:k)"), {"k": key}).scalar()
        conn.commit()  # a session-level lock outlives the transaction
    except BaseException:
        conn.close()
        raise
    if not got:
        conn.close()
        return None

    def release() -> None:
        try:
            conn.execute(text(f"select pg_advisory_unlock{suffix}(:k)"), {"k": key})
            conn.commit()
        except Exception:  # noqa: BLE001 - a dropped connection has released it already
            pass
        finally:
            conn.close()

    return _Held(release)


class Locks:
    """Named locks for one metadata store."""

    def __init__(self, engine: Engine, lock_dir: Path) -> None:
        self.engine = engine
        self.lock_dir = lock_dir

    def _try(self, name: str, shared: bool) -> _Held | None:
        if self.engine.dialect.name == "postgresql":
            return _try_advisory(self.engine, name, shared)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        return _try_file(self.lock_dir / f"{safe}.lock", shared)

    @contextmanager
    def hold(
        self,
        name: str,
        *,
        shared: bool = False,
        wait: float | None = None,
        busy: Callable[[], str] | None = None,
        waiting: Callable[[str], None] | None = None,
    ) -> Iterator[None]:
        """Hold lock ``name`` for the block.

        Args:
            wait: seconds to wait for a busy lock (``float('inf')``: until it is free;
                None or 0: fail at once).
            busy: describes the holder for the message (e.g. its run, pid and start).
            waiting: called once with that description when the wait starts.

        Raises:
            LockBusy: the lock was still held when the wait ran out.
        """
        deadline = time.monotonic() + (wait or 0)
        said = False
        while True:
            held = self._try(name, shared)
            if held is not None:
                break
            holder = busy() if busy else f"another command holds the lock {name!r}"
            if time.monotonic() >= deadline:
                raise LockBusy(
                    holder,
                    hint="wait for it to finish, or pass --wait to queue behind it",
                )
            if waiting and not said:
                waiting(holder)
                said = True
            time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            held.release()


def lock_dir_for(url: str, fallback: Path) -> Path:
    """Where a SQLite store's lock files go: beside the database file."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            return Path(path).with_name(Path(path).name + ".locks")
    return fallback
