"""One environment's rows of the metadata store, copied out to a SQLite file and back.

A backup is a SQLite file at the store's newest revision holding only the
environment's rows (several environments can share a store), whatever engine the
store runs on: a PostgreSQL store's backup restores into a SQLite store and back. An
older backup is upgraded by the same migrations as a store before it is read.

Restoring replaces the environment's rows in one transaction; the audit log only
when the caller says so (it is append-only and hash-chained: whether the store's own
log or the backup's is kept is the caller's decision).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, select, text

from basin.metadata.models import Base

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from basin.metadata.store import MetadataStore

CHUNK = 5000
AUDIT_TABLES = ("basin_audit_log", "basin_audit_head")


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)  # parents before children


def _mine(table: Table, env: str, runs: Any) -> Any:
    """The condition selecting ``env``'s rows of ``table``."""
    if "env" in table.c:
        return table.c.env == env
    return table.c.run_id.in_(runs)  # basin_steps: through its run


def _runs_of(env: str) -> Any:
    runs = Base.metadata.tables["basin_runs"]
    return select(runs.c.run_id).where(runs.c.env == env).scalar_subquery()


def export_env(store: MetadataStore, dest: Path, *, leave_out_run: str | None = None) -> int:
    """Copy the environment's rows of ``store`` into a new SQLite file ``dest`` (its
    tables created by the migrations); returns the rows copied. ``leave_out_run``: a
    run (the backup's own, still running) not to copy."""
    from basin.metadata.store import MetadataStore

    dest.unlink(missing_ok=True)
    copy = MetadataStore(f"sqlite:///{dest}", env=store.env, lock_dir=dest.parent)
    copy.migrate()
    rows = 0
    try:
        with store.engine.connect() as src:
            if src.dialect.name == "postgresql":  # one snapshot for every table
                src.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            with copy.engine.begin() as out:
                for table in _tables():
                    where = _mine(table, store.env, _runs_of(store.env))
                    if leave_out_run is not None and "run_id" in table.c:
                        if table.name in ("basin_runs", "basin_steps"):
                            where = where & (table.c.run_id != leave_out_run)
                    rows += _copy(src, out, table, where)
    finally:
        copy.close()
    return rows


def audit_head(backup: Path, env: str) -> tuple[int, str] | None:
    """The newest audit entry's (seq, hash) in a ``backup`` file, None if it has none."""
    import sqlite3

    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as con:
        found = con.execute(
            "SELECT seq, hash FROM basin_audit_head WHERE env = ?", [env]
        ).fetchone()
    return (int(found[0]), str(found[1])) if found else None


def import_env(store: MetadataStore, backup: Path, *, audit: bool) -> int:
    """Replace the environment's rows of ``store`` with those of the ``backup`` file
    (upgraded to the newest revision first), the audit log's too if ``audit``; returns
    the rows restored."""
    from basin.metadata.store import MetadataStore

    source = MetadataStore(f"sqlite:///{backup}", env=store.env, lock_dir=backup.parent)
    source.migrate()
    rows = 0
    try:
        with source.engine.connect() as src, store.engine.begin() as out:
            runs = _runs_of(store.env)
            tables = [t for t in _tables() if audit or t.name not in AUDIT_TABLES]
            for table in reversed(tables):  # children before parents
                out.execute(delete(table).where(_mine(table, store.env, runs)))
            for table in tables:
                rows += _copy(src, out, table, _mine(table, store.env, _runs_of(store.env)))
            if out.dialect.name == "postgresql":
                _advance_sequences(out)
    finally:
        source.close()
    return rows


def _copy(src: Connection, out: Connection, table: Table, where: Any) -> int:
    result = src.execute(select(table).where(where))
    rows = 0
    while chunk := result.mappings().fetchmany(CHUNK):
        out.execute(table.insert(), [dict(r) for r in chunk])
        rows += len(chunk)
    return rows


def _advance_sequences(out: Connection) -> None:
    """Rows came with their ids: move each id sequence past the largest, so the next
    row does not collide with a restored one."""
    for table in _tables():
        if "id" in table.c and table.c.id.autoincrement is True:
            out.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                    f"GREATEST((SELECT max(id) FROM {table.name}), 1))"
                ),
                {"t": table.name},
            )
