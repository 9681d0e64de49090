"""Publish on DuckDB: copy the audited schemas into a new snapshot file, then rename
it over ``published/warehouse.duckdb`` (atomic on POSIX: a reader opening the file
gets the old snapshot or the new one, never a mix)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from basin.common import faults
from basin.common.errors import PublishError
from basin.common.sql import literal, quote_ident
from basin.warehouses.base import PublishResult

PUBLISHED_FILE = "warehouse.duckdb"
MASKED_FILE = "masked.duckdb"
"""The published snapshot with PII masked (``access.masking``), for readers without PII."""


def counts(con: duckdb.DuckDBPyConnection, catalog: str, schemas: list[str]) -> dict[str, int]:
    return {
        name: int(found[0]) if found else 0
        for name, found in _each(con, catalog, schemas, "SELECT count(*) FROM {}").items()
    }


CHECKSUM = (
    "SELECT count(*), coalesce(md5(string_agg(h, ',' ORDER BY h)), '') "
    "FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM {} AS t)"
)
"""Rows and an order-independent digest of a table (each row's text, hashed, sorted)."""


def checksums(target: Path) -> dict[str, tuple[int, str]]:
    """``schema.table`` → (rows, digest) of every table of a published snapshot."""
    if not target.exists():
        return {}
    con = duckdb.connect(str(target), read_only=True)
    try:
        return {
            name: (int(found[0]), str(found[1]))
            for name, found in _each(con, target.stem, _schemas(con, target.stem), CHECKSUM).items()
            if found
        }
    finally:
        con.close()


def _schemas(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT schema_name FROM duckdb_tables() WHERE database_name = ? AND schema_name <> '_basin'",
            [catalog],
        ).fetchall()
    ]


def _each(
    con: duckdb.DuckDBPyConnection, catalog: str, schemas: list[str], query: str
) -> dict[str, tuple[Any, ...] | None]:
    """``query`` (``{}`` = the relation) over each table and view of ``schemas``."""
    out = {}
    rows = con.execute(
        """
        SELECT schema_name, table_name FROM duckdb_tables()
        WHERE database_name = ? AND schema_name IN (SELECT unnest(?::VARCHAR[]))
        UNION ALL
        SELECT schema_name, view_name FROM duckdb_views()
        WHERE database_name = ? AND schema_name IN (SELECT unnest(?::VARCHAR[])) AND NOT internal
        ORDER BY 1, 2
        """,
        [catalog, schemas, catalog, schemas],
    ).fetchall()
    for schema, name in rows:
        relation = f"{quote_ident(catalog)}.{quote_ident(schema)}.{quote_ident(name)}"
        out[f"{schema}.{name}"] = con.execute(query.format(relation)).fetchone()
    return out


def publish_snapshot(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    schemas: list[str],
    run_id: str,
    target: Path,
    storage_version: str = "v1.0.0",
    keep: int = 0,
) -> PublishResult:
    """Copy the audited ``schemas`` into a new snapshot file and swap it in as ``target``
    (one rename: readers see the old file or the new one, never a mix); the one it
    replaces is kept in ``history/`` (``keep`` newest)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{run_id}.tmp")
    remove_partial_snapshots(target)
    try:
        present = {
            r[0]
            for r in con.execute(
                "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ?", [catalog]
            ).fetchall()
        }
        missing = [s for s in schemas if s not in present]
        if missing:
            built = sorted(present - {"raw", "_basin", "information_schema", "pg_catalog"})
            raise PublishError(
                f"cannot publish: schema(s) {', '.join(missing)} not found in the warehouse "
                f"(it holds: {', '.join(built) or 'nothing'})",
                hint="set publish.schemas in basin.yml to the schema(s) your marts are built "
                "in; `basin doctor` compares them with what the dbt project builds",
            )
        con.execute(
            f"ATTACH {literal(str(tmp))} AS basin_snapshot (STORAGE_VERSION {literal(storage_version)})"
        )
        objects = [k.split(".", 1) for k in counts(con, catalog, schemas)]
        for schema in schemas:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS basin_snapshot.{quote_ident(schema)}")
        for schema, name in objects:
            # Views become tables: the snapshot stands alone, BI needs nothing else.
            con.execute(
                f"CREATE TABLE basin_snapshot.{quote_ident(schema)}.{quote_ident(name)} AS "
                f"SELECT * FROM {quote_ident(catalog)}.{quote_ident(schema)}.{quote_ident(name)}"
            )
        con.execute("CREATE SCHEMA basin_snapshot._basin")
        con.execute(
            "CREATE TABLE basin_snapshot._basin.publication AS "
            "SELECT ?::VARCHAR AS run_id, current_timestamp AS published_at, "
            "?::VARCHAR AS storage_version, ?::VARCHAR AS written_by",
            [run_id, storage_version, f"duckdb {duckdb.__version__}"],
        )
        result = counts(con, "basin_snapshot", schemas)
        con.execute("CHECKPOINT basin_snapshot")
        con.execute("DETACH basin_snapshot")
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        raise PublishError(
            f"building the snapshot {tmp} failed: {exc}",
            hint="the previous publication is untouched",
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    keep_current(target, keep)
    faults.point("publish.before_swap")
    os.replace(tmp, target)
    _sync_folder(target.parent)
    return PublishResult(
        location=str(target), tables=result, detail={"storage_version": storage_version}
    )


def remove_partial_snapshots(target: Path) -> list[Path]:
    """Delete snapshot files a publish killed mid-way left beside ``target`` (the
    caller holds the project's exclusive lock: no publish is running)."""
    removed = []
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):  # .tmp and .tmp.wal
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def published_tables(target: Path) -> dict[str, int] | None:
    if not target.exists():
        return None
    con = duckdb.connect(str(target), read_only=True)
    try:
        return counts(con, target.stem, _schemas(con, target.stem))
    finally:
        con.close()


MASKS = {
    "hash": "md5(CAST({c} AS VARCHAR))",
    "partial": (
        "CASE WHEN length(CAST({c} AS VARCHAR)) <= 4 THEN repeat('*', length(CAST({c} AS VARCHAR))) "
        "ELSE left(CAST({c} AS VARCHAR), 2) || repeat('*', length(CAST({c} AS VARCHAR)) - 4) "
        "|| right(CAST({c} AS VARCHAR), 2) END"
    ),
    "null": "CAST(NULL AS VARCHAR)",
}
"""DuckDB expressions of the masking rules (``basin.access``), ``{c}`` the column."""


def publish_masked(
    published: Path, target: Path, masks: dict[tuple[str, str], dict[str, str]], run_id: str
) -> dict[str, int]:
    """A copy of the ``published`` snapshot with each PII column (``(schema, table) →
    {column: rule}``) masked, swapped in as ``target`` in one rename. DuckDB has no
    roles: whoever opens a file reads all of it, so the masked data is its own file."""
    tmp = target.with_name(f".{target.name}.{run_id}.tmp")
    remove_partial_snapshots(target)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {literal(str(published))} AS basin_source (READ_ONLY)")
        con.execute(f"ATTACH {literal(str(tmp))} AS basin_masked")
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
            "'basin_source' ORDER BY 1, 2"
        ).fetchall()
        for schema, name in tables:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS basin_masked.{quote_ident(schema)}")
            rules = masks.get((schema.lower(), name.lower()), {})
            columns = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE database_name = 'basin_source' "
                    "AND schema_name = ? AND table_name = ? ORDER BY column_index",
                    [schema, name],
                ).fetchall()
            ]
            select = ", ".join(
                MASKS[rules[c.lower()]].format(c=quote_ident(c)) + f" AS {quote_ident(c)}"
                if c.lower() in rules
                else quote_ident(c)
                for c in columns
            )
            con.execute(
                f"CREATE TABLE basin_masked.{quote_ident(schema)}.{quote_ident(name)} AS "
                f"SELECT {select} FROM basin_source.{quote_ident(schema)}.{quote_ident(name)}"
            )
        con.execute("CHECKPOINT basin_masked")
        con.execute("DETACH basin_masked")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    os.replace(tmp, target)
    return {f"{s}.{t}": len(masks.get((s.lower(), t.lower()), {})) for s, t in tables}


HISTORY = "history"
"""Folder beside the published snapshot keeping earlier publications, one folder per
run id (``history/<run id>/warehouse.duckdb``, and ``masked.duckdb`` if there was one)."""


def publication_run(target: Path) -> str | None:
    """The run id a published snapshot was built by (its ``_basin.publication``)."""
    if not target.exists():
        return None
    try:
        with duckdb.connect(str(target), read_only=True) as con:
            found = con.execute(
                f"SELECT run_id FROM {quote_ident(target.stem)}._basin.publication"
            ).fetchone()
    except duckdb.Error:
        return None  # not a snapshot (damaged, or another file)
    return str(found[0]) if found else None


def keep_current(target: Path, keep: int) -> None:
    """Keep the publication about to be replaced: its files hard-linked (no copy; a
    snapshot is never written in place) into ``history/<run id>/``; then only the
    ``keep`` newest kept publications stay."""
    history = target.parent / HISTORY
    for partial in history.glob(".*.tmp") if history.exists() else []:
        shutil.rmtree(partial, ignore_errors=True)  # a keep killed mid-way
    run = publication_run(target) if keep > 0 else None
    if run is not None and not (history / run).exists():
        partial = history / f".{run}.tmp"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name in (PUBLISHED_FILE, MASKED_FILE):
            if (target.parent / name).exists():
                _link_or_copy(target.parent / name, partial / name)
        os.replace(partial, history / run)
    for old in kept(target)[: -keep or None] if keep > 0 else kept(target):
        shutil.rmtree(history / old, ignore_errors=True)


def kept(target: Path) -> list[str]:
    """Run ids of the kept publications, oldest first (run ids sort by time)."""
    history = target.parent / HISTORY
    if not history.exists():
        return []
    return sorted(
        p.name
        for p in history.iterdir()
        if not p.name.startswith(".") and (p / PUBLISHED_FILE).exists()
    )


def restore(target: Path, run_id: str, keep: int, masked: bool) -> PublishResult:
    """Make the kept publication of ``run_id`` the published one again, each file in
    one rename (readers see the old file or the restored one); the publication it
    replaces is kept first, so a restore can be undone the same way.

    Args:
        masked: PII masking is configured: the kept publication must have its masked
            copy, restored with it (a reader without PII never gets a newer or missing
            masked file beside an older published one).
    """
    folder = target.parent / HISTORY / run_id
    available = kept(target)
    if run_id not in available:
        raise PublishError(
            f"publication {run_id} is not kept",
            hint="kept: "
            + (", ".join(reversed(available)) or "none yet")
            + " (`basin publish --list`; publish.keep sets how many are kept)",
        )
    files = [PUBLISHED_FILE]
    if masked:
        if not (folder / MASKED_FILE).exists():
            raise PublishError(
                f"publication {run_id} has no PII-masked copy, and masking is configured now",
                hint="restore a publication made with masking, or publish a new build",
            )
        files.insert(0, MASKED_FILE)
    if publication_run(target) == run_id:
        raise PublishError(f"publication {run_id} is already the published one")
    if publication_run(folder / PUBLISHED_FILE) != run_id:
        raise PublishError(
            f"the kept snapshot of publication {run_id} cannot be read (damaged or replaced)",
            hint=f"remove {folder} and restore another kept publication",
        )
    _swap_in(target, folder, files, keep, run_id)
    return PublishResult(
        location=str(target), tables=published_tables(target) or {}, detail={"restored": run_id}
    )


def backup(target: Path, folder: Path) -> list[str]:
    """Copy the published snapshot (and its masked copy) into ``folder``."""
    if publication_run(target) is None:
        raise PublishError(
            f"nothing to back up: {target} is not a readable published snapshot",
            hint="run `basin run` (or `basin publish`) first, or `basin publish --list` "
            "if it was damaged",
        )
    names = [n for n in (PUBLISHED_FILE, MASKED_FILE) if (target.parent / n).exists()]
    for name in names:
        shutil.copyfile(target.parent / name, folder / name)
    return names


def restore_backup(target: Path, folder: Path, files: list[str], keep: int) -> PublishResult:
    """Make a backup's snapshot the published one (each file in one rename; the one it
    replaces is kept in ``history/`` first, so ``basin publish --restore`` undoes it)."""
    run_id = publication_run(folder / PUBLISHED_FILE)
    if run_id is None:
        raise PublishError(f"the backed-up snapshot {folder / PUBLISHED_FILE} cannot be read")
    target.parent.mkdir(parents=True, exist_ok=True)
    if publication_run(target) != run_id:
        _swap_in(target, folder, files, keep, run_id)
    return PublishResult(
        location=str(target), tables=published_tables(target) or {}, detail={"restored": run_id}
    )


def _swap_in(target: Path, folder: Path, files: list[str], keep: int, label: str) -> None:
    """Swap ``files`` of ``folder`` in beside ``target``, keeping the current ones."""
    keep_current(target, max(keep, 1) + 1)  # the current one too, so this can be undone
    remove_partial_snapshots(target)
    if MASKED_FILE not in files:  # a masked copy of another publication must not stay
        (target.parent / MASKED_FILE).unlink(missing_ok=True)
    for name in sorted(files, key=lambda n: n != MASKED_FILE):  # the masked copy first
        tmp = target.with_name(f".{name}.{label}.tmp")
        _link_or_copy(folder / name, tmp)
        os.replace(tmp, target.parent / name)
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, dest)
        with open(dest, "rb") as fh:
            os.fsync(fh.fileno())
