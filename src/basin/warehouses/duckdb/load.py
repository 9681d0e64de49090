"""Load a lake batch into a ``raw`` table with DuckDB, exactly once.

Shared by the engines DuckDB writes to: its own file, and PostgreSQL through the
postgres extension (which turns the INSERT into a binary COPY and keeps DDL and
rows in one PostgreSQL transaction). The rows, any new columns and the ledger entry
commit together; a crash before COMMIT leaves no trace of the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from basin.core import faults
from basin.core.errors import LoadError
from basin.lake.manifest import Manifest
from basin.warehouses.base import (
    LEDGER_SCHEMA,
    RAW_SCHEMA,
    LoadResult,
    literal,
    quote,
    raw_table_name,
)


def ensure_ledger(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    c = quote(catalog)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {c}.{RAW_SCHEMA}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {c}.{LEDGER_SCHEMA}")
    con.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {c}.{LEDGER_SCHEMA}.load_ledger (
            batch_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            entity VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            rows BIGINT NOT NULL,
            run_id VARCHAR,
            loaded_at TIMESTAMPTZ NOT NULL
        )
        """
    )


def loaded_batch_ids(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    ensure_ledger(con, catalog)
    rows = con.execute(
        f"SELECT batch_id FROM {quote(catalog)}.{LEDGER_SCHEMA}.load_ledger"
    ).fetchall()
    return {r[0] for r in rows}


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> set[str] | None:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
        [catalog, RAW_SCHEMA, table],
    ).fetchall()
    return {r[0] for r in rows} if rows else None


def _insert_batch(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    manifest: Manifest,
    urls: list[str],
    run_id: str | None,
) -> int:
    """The rows of one batch and its ledger entry, inside the caller's transaction."""
    table = raw_table_name(manifest.source, manifest.entity)
    shown = f"{RAW_SCHEMA}.{table}"
    qualified = f"{quote(catalog)}.{RAW_SCHEMA}.{quote(table)}"
    ledger = f"{quote(catalog)}.{LEDGER_SCHEMA}.load_ledger"
    rows = 0
    if urls:
        files = "[" + ", ".join(literal(u) for u in urls) + "]"
        scan = f"read_parquet({files}, union_by_name = true, hive_partitioning = false)"
        have = _columns(con, catalog, table)
        if have is None:
            con.execute(f"CREATE TABLE {qualified} AS SELECT * FROM {scan} LIMIT 0")
        else:
            if manifest.load_mode == "replace":
                con.execute(f"DELETE FROM {qualified}")
            # Additive schema evolution: columns new in the batch are added as nullable.
            for name, dtype, *_ in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall():
                if name not in have:
                    con.execute(f"ALTER TABLE {qualified} ADD COLUMN {quote(name)} {dtype}")
        result = con.execute(f"INSERT INTO {qualified} BY NAME SELECT * FROM {scan}").fetchone()
        rows = int(result[0]) if result else 0
    if rows != manifest.row_count:
        raise LoadError(
            f"batch {manifest.batch_id}: read {rows} rows, the manifest says {manifest.row_count}",
            hint="the batch's files were changed after extraction; re-extract the entity",
        )
    con.execute(
        f"INSERT INTO {ledger} (batch_id, source, entity, table_name, rows, run_id, loaded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, current_timestamp)",
        [manifest.batch_id, manifest.source, manifest.entity, shown, rows, run_id],
    )
    return rows


def _failed(manifest: Manifest, urls: list[str], exc: duckdb.Error) -> LoadError:
    where = urls[0].rsplit("/", 1)[0] if urls else "(no files)"
    return LoadError(
        f"loading batch {manifest.batch_id} of {manifest.source}.{manifest.entity} "
        f"({where}) failed: {str(exc).strip()}",
        hint="nothing of it was written; fix or remove the batch, then run `basin load` again",
    )


def load_batch(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    manifest: Manifest,
    urls: list[str],
    run_id: str | None,
) -> LoadResult:
    shown = f"{RAW_SCHEMA}.{raw_table_name(manifest.source, manifest.entity)}"
    ledger = f"{quote(catalog)}.{LEDGER_SCHEMA}.load_ledger"
    ensure_ledger(con, catalog)
    con.execute("BEGIN TRANSACTION")
    try:
        seen = con.execute(
            f"SELECT 1 FROM {ledger} WHERE batch_id = ?", [manifest.batch_id]
        ).fetchone()
        if seen:
            con.execute("ROLLBACK")
            return LoadResult(manifest.batch_id, shown, 0, skipped=True)
        rows = _insert_batch(con, catalog, manifest, urls, run_id)
        faults.point("load.before_commit")
        con.execute("COMMIT")
        return LoadResult(manifest.batch_id, shown, rows)
    except BaseException as exc:
        _rollback(con)
        if isinstance(exc, duckdb.Error):
            raise _failed(manifest, urls, exc) from None
        raise


def replay(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    entities: list[tuple[str, str, list[tuple[Manifest, list[str]]]]],
    run_id: str | None,
    after_batch: Callable[[LoadResult], None] | None = None,
) -> list[LoadResult]:
    """Rebuild the raw tables of ``entities`` from their batches in ONE transaction:
    the old rows and ledger entries are deleted and every batch loaded again, and
    all of it commits together or not at all — a failure leaves the warehouse as it
    was (DuckDB's and PostgreSQL's DDL is transactional)."""
    ensure_ledger(con, catalog)
    ledger = f"{quote(catalog)}.{LEDGER_SCHEMA}.load_ledger"
    results = []
    con.execute("BEGIN TRANSACTION")
    try:
        for source, entity, batches in entities:
            table = raw_table_name(source, entity)
            # Emptied, not dropped: on PostgreSQL dbt's staging views depend on it.
            if _columns(con, catalog, table) is not None:
                con.execute(f"DELETE FROM {quote(catalog)}.{RAW_SCHEMA}.{quote(table)}")
            con.execute(f"DELETE FROM {ledger} WHERE source = ? AND entity = ?", [source, entity])
            for manifest, urls in batches:
                try:
                    rows = _insert_batch(con, catalog, manifest, urls, run_id)
                except duckdb.Error as exc:
                    raise _failed(manifest, urls, exc) from None
                result = LoadResult(manifest.batch_id, f"{RAW_SCHEMA}.{table}", rows)
                results.append(result)
                if after_batch:
                    after_batch(result)
        faults.point("replay.mid")
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return results


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # the transaction was already closed


def drop_raw(con: duckdb.DuckDBPyConnection, catalog: str, source: str, entity: str) -> None:
    ensure_ledger(con, catalog)
    table = raw_table_name(source, entity)
    con.execute("BEGIN TRANSACTION")
    con.execute(f"DROP TABLE IF EXISTS {quote(catalog)}.{RAW_SCHEMA}.{quote(table)}")
    con.execute(
        f"DELETE FROM {quote(catalog)}.{LEDGER_SCHEMA}.load_ledger WHERE source = ? AND entity = ?",
        [source, entity],
    )
    con.execute("COMMIT")
