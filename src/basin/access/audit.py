"""The audit log: one hash-chained entry per Basin command, in the metadata store.

Each entry records who (the OS user, or a service identity from ``BASIN_ACTOR``), when,
the command, its arguments with secrets redacted, how it ended, and the SHA-256 of
basin.yml as it was (a changed file is logged as an entry of its own). Its hash covers
all of that and the previous entry's hash; the environment's head records the newest.
:func:`verify` recomputes the chain and names each entry that was edited, deleted or
inserted, and entries deleted from the end.

This is tamper-evidence, not tamper-proofing: whoever can write the metadata store
can rewrite the whole chain and its head. Ship the head's hash elsewhere (the log
lines Basin writes carry it) to anchor it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import random
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basin.common.errors import MetadataError
from basin.common.logging import get_logger
from basin.common.redaction import redact
from basin.config.project import PROJECT_FILE

if TYPE_CHECKING:
    from basin.config import Project
    from basin.metadata.models import AuditEntry
    from basin.metadata.store import MetadataStore

log = get_logger(__name__)

GENESIS = "0" * 64
"""The previous hash of an environment's first entry."""
ATTEMPTS = 50
"""Appends racing another process for the same position try again this often."""


def actor() -> str:
    """Who is acting: ``BASIN_ACTOR`` (a service identity such as ``service:airflow``),
    else the operating-system user and host (``user:ada@laptop``)."""
    if named := os.environ.get("BASIN_ACTOR"):
        return named
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"user:{user}@{socket.gethostname()}"


def file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


FIELDS = (
    "env",
    "seq",
    "at",
    "actor",
    "command",
    "arguments",
    "outcome",
    "detail",
    "config_sha",
    "prev_hash",
)
"""What an entry's hash covers: every column but its id and its own hash."""


def _fields(entry: Any) -> dict[str, Any]:
    """The hashed fields of an entry (a row read back, or the mapping about to be
    written), the time as ISO text to the microsecond."""
    fields = {
        name: entry[name] if isinstance(entry, dict) else getattr(entry, name) for name in FIELDS
    }
    fields["at"] = fields["at"].isoformat(timespec="microseconds")
    return fields


def append(
    store: MetadataStore,
    command: str,
    arguments: list[str],
    outcome: str,
    *,
    detail: str | None = None,
    who: str | None = None,
    config_sha: str | None = None,
) -> AuditEntry:
    """Add an entry at the end of the environment's chain (and, first, a ``config
    changed`` entry when ``config_sha`` differs from the newest entry's).

    Raises:
        MetadataError: the entry could not be written (another writer kept winning).
    """
    from sqlalchemy.exc import IntegrityError, OperationalError

    who = who or actor()
    args = json.dumps([redact(a) for a in arguments])
    detail = redact(detail) if detail else None
    for attempt in range(ATTEMPTS):
        try:
            return _append_once(store, command, args, outcome, detail, who, config_sha)
        except (IntegrityError, _Raced):
            # Another process took this position (the environment's first entry, or a
            # head moved under us): read the head again, after a short random wait.
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
            continue
        except OperationalError as exc:
            if "locked" not in str(exc):  # SQLite's writer lock, held by another append
                raise

    raise MetadataError(
        f"the audit log entry for `basin {command}` could not be written: {ATTEMPTS} "
        "other writers took its place first"
    )


class _Raced(Exception):
    """Another writer moved the head between our read and our write."""


def _append_once(
    store: MetadataStore,
    command: str,
    args: str,
    outcome: str,
    detail: str | None,
    who: str,
    config_sha: str | None,
) -> AuditEntry:
    """One transaction: read the head, insert the entries, move the head (a writer
    that took the same position first makes the insert or the move fail). SQLAlchemy
    Core, not the ORM: an append is on every command's path (measured in
    bench/audit_append.py)."""
    from sqlalchemy import insert, select, update

    from basin.metadata.models import AuditEntry, Base
    from basin.metadata.store import utcnow

    entries_t = Base.metadata.tables["basin_audit_log"]
    head_t = Base.metadata.tables["basin_audit_head"]
    with store.engine.begin() as conn:
        # The head row, locked (PostgreSQL): concurrent appends queue here instead of
        # racing for the same position. SQLite's writer lock does the same.
        head = conn.execute(
            select(head_t.c.seq, head_t.c.hash, head_t.c.config_sha)
            .where(head_t.c.env == store.env)
            .with_for_update()
        ).first()
        seq, prev, last_sha = (head.seq, head.hash, head.config_sha) if head else (0, GENESIS, None)
        now = utcnow()
        todo: list[tuple[str, str, str, str | None]] = []
        if config_sha and last_sha and config_sha != last_sha:
            todo.append(
                ("config changed", json.dumps([last_sha[:12], config_sha[:12]]), "recorded", None)
            )
        todo.append((command, args, outcome, detail))
        rows: list[dict[str, Any]] = []
        for cmd, arguments, result, text in todo:
            seq += 1
            row = {
                "env": store.env,
                "seq": seq,
                "at": now,
                "actor": who,
                "command": cmd,
                "arguments": arguments,
                "outcome": result,
                "detail": text,
                "config_sha": config_sha,
                "prev_hash": prev,
            }
            row["hash"] = prev = _digest(_fields(row))
            rows.append(row)
        conn.execute(insert(entries_t), rows)
        sha = config_sha or last_sha
        if head is None:
            conn.execute(insert(head_t).values(env=store.env, seq=seq, hash=prev, config_sha=sha))
        else:
            moved = conn.execute(
                update(head_t)
                .where(head_t.c.env == store.env, head_t.c.seq == head.seq)
                .values(seq=seq, hash=prev, config_sha=sha)
            )
            if moved.rowcount != 1:
                raise _Raced  # rolls this transaction back
    log.debug("audit %d %s %s: %s", seq, who, command, outcome, extra={"audit_hash": prev})
    return AuditEntry(**rows[-1])


@dataclass(frozen=True)
class Problem:
    """Where the chain breaks."""

    seq: int
    what: str


def verify(store: MetadataStore) -> tuple[int, list[Problem]]:
    """Check the environment's whole chain: ``(entries checked, problems)``."""
    from sqlalchemy import select

    from basin.metadata.models import AuditEntry, AuditHead

    problems: list[Problem] = []
    with store.session() as s:
        entries = list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.env == store.env).order_by(AuditEntry.seq)
            )
        )
        head = s.get(AuditHead, store.env)
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
        s.expunge_all()
    expected_seq, prev = 1, GENESIS
    for entry in entries:
        if entry.seq > expected_seq:
            missing = (
                f"entry {expected_seq} is missing"
                if entry.seq == expected_seq + 1
                else f"entries {expected_seq}–{entry.seq - 1} are missing"
            )
            problems.append(Problem(expected_seq, f"{missing} (deleted)"))
        elif entry.prev_hash != prev and entry.seq == expected_seq:
            problems.append(
                Problem(entry.seq, "does not follow the entry before it (inserted or replaced)")
            )
        if _digest(_fields(entry)) != entry.hash:
            problems.append(
                Problem(
                    entry.seq,
                    f"was edited after it was written (`basin {entry.command}` by {entry.actor} "
                    f"at {entry.at:%Y-%m-%d %H:%M:%S} UTC as it reads now)",
                )
            )
        expected_seq, prev = entry.seq + 1, entry.hash
    last = entries[-1].seq if entries else 0
    if head_seq > last:
        gone = f"entry {head_seq}" if head_seq == last + 1 else f"entries {last + 1}–{head_seq}"
        problems.append(Problem(last + 1, f"{gone} at the end of the log deleted"))
    elif head_seq < last:
        problems.append(Problem(head_seq + 1, "entries after the recorded head (added by hand)"))
    elif entries and prev != head_hash:
        problems.append(Problem(last, "the newest entry is not the one the head recorded"))
    return len(entries), problems


def entries(store: MetadataStore, limit: int = 50) -> list[AuditEntry]:
    """The newest entries, newest first."""
    from sqlalchemy import select

    from basin.metadata.models import AuditEntry

    with store.session() as s:
        found = list(
            s.scalars(
                select(AuditEntry)
                .where(AuditEntry.env == store.env)
                .order_by(AuditEntry.seq.desc())
                .limit(limit)
            )
        )
        s.expunge_all()
    return found


def record(
    project: Project,
    command: str,
    arguments: list[str],
    outcome: str,
    *,
    detail: str | None = None,
    who: str | None = None,
    store: MetadataStore | None = None,
) -> AuditEntry | None:
    """Append a command's entry to its project's audit log (opening the store unless
    given). Never raises: a log that cannot be written is reported as a warning, and
    the command's own outcome stands."""
    from basin.metadata.store import open_store

    opened = None
    try:
        if store is None:
            store = opened = open_store(
                project.metadata_url,
                env=project.env_name,
                schema=project.env.metadata.db_schema,
                lock_dir=project.state_path("locks"),
            )
        return append(
            store,
            command,
            arguments,
            outcome,
            detail=detail,
            who=who,
            config_sha=file_sha(project.root / PROJECT_FILE),
        )
    except Exception as exc:  # noqa: BLE001 - the command's outcome must stand
        log.warning(
            "the audit log entry for `basin %s` was not written: %s: %s",
            command,
            type(exc).__name__,
            redact(str(exc)),
        )
        return None
    finally:
        if opened is not None:
            opened.close()
