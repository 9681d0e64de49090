"""DuckDB: the embedded default warehouse.

The pipeline's warehouse file is private to Basin and dbt. Publishing copies the
audited schemas into a new snapshot file and atomically renames it over
``published/warehouse.duckdb``, which BI opens read-only: a reader sees the old
snapshot or the new one, never a mix, and a failed run leaves the old one in place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from basin.core.errors import LoadError, PublishError
from basin.lake.manifest import Manifest
from basin.warehouses.base import (
    LEDGER_SCHEMA,
    RAW_SCHEMA,
    LoadResult,
    PublishResult,
    Warehouse,
    raw_table_name,
)

PUBLISHED_FILE = "warehouse.duckdb"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DuckDBWarehouse(Warehouse):
    ENGINE = "duckdb"
    DBT_ADAPTER = "duckdb"
    SUPPORTS_TRANSACTIONAL_DDL = True
    READS_PARQUET_IN_PLACE = True
    PUBLISH_BY = "file-swap"

    @property
    def path(self) -> Path:
        return self.project.warehouse_path

    @property
    def published_path(self) -> Path:
        return self.project.publish_dir / PUBLISHED_FILE

    @property
    def identity(self) -> str:
        return f"duckdb:{self.path}"

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        cfg = self.project.env.warehouse
        if read_only and not self.path.exists():
            raise LoadError(
                f"the warehouse file {self.path} does not exist yet",
                hint="run `basin load` (or `basin run`) first",
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {}
        if cfg.threads:
            config["threads"] = cfg.threads
        if cfg.memory_limit:
            config["memory_limit"] = cfg.memory_limit
        try:
            return duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            raise LoadError(
                f"cannot open the DuckDB warehouse {self.path}: {exc}",
                hint="another process holds it open for writing (a running `basin` or dbt); "
                "wait for it to finish",
            ) from None

    def _ensure_ledger(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {LEDGER_SCHEMA}")
        con.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {LEDGER_SCHEMA}.load_ledger (
                batch_id VARCHAR PRIMARY KEY,
                source VARCHAR NOT NULL,
                entity VARCHAR NOT NULL,
                table_name VARCHAR NOT NULL,
                rows BIGINT NOT NULL,
                run_id VARCHAR,
                loaded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
            )
            """
        )

    def loaded_batch_ids(self) -> set[str]:
        if not self.path.exists():
            return set()
        con = self.connect()
        try:
            self._ensure_ledger(con)
            return {
                r[0]
                for r in con.execute(f"SELECT batch_id FROM {LEDGER_SCHEMA}.load_ledger").fetchall()
            }
        finally:
            con.close()

    def load_batch(self, manifest: Manifest, urls: list[str], run_id: str | None) -> LoadResult:
        table = raw_table_name(manifest.source, manifest.entity)
        qualified = f"{RAW_SCHEMA}.{quote(table)}"
        shown = f"{RAW_SCHEMA}.{table}"
        con = self.connect()
        try:
            self._ensure_ledger(con)
            # Rows, new columns and the ledger entry commit together: a crash
            # anywhere before COMMIT leaves no trace of the batch in raw.
            con.execute("BEGIN TRANSACTION")
            seen = con.execute(
                f"SELECT 1 FROM {LEDGER_SCHEMA}.load_ledger WHERE batch_id = ?", [manifest.batch_id]
            ).fetchone()
            if seen:
                con.execute("ROLLBACK")
                return LoadResult(manifest.batch_id, shown, 0, skipped=True)
            rows = 0
            if urls:
                files = "[" + ", ".join(literal(u) for u in urls) + "]"
                scan = f"read_parquet({files}, union_by_name = true, hive_partitioning = false)"
                exists = con.execute(
                    "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                    [RAW_SCHEMA, table],
                ).fetchone()
                if not exists:
                    con.execute(f"CREATE TABLE {qualified} AS SELECT * FROM {scan} LIMIT 0")
                elif manifest.load_mode == "replace":
                    con.execute(f"DELETE FROM {qualified}")
                self._add_new_columns(con, table, scan)
                result = con.execute(
                    f"INSERT INTO {qualified} BY NAME SELECT * FROM {scan}"
                ).fetchone()
                rows = int(result[0]) if result else 0
            if rows != manifest.row_count:
                raise LoadError(
                    f"batch {manifest.batch_id}: read {rows} rows, the manifest says {manifest.row_count}",
                    hint="the batch's files were changed after extraction; re-extract the entity",
                )
            con.execute(
                f"INSERT INTO {LEDGER_SCHEMA}.load_ledger (batch_id, source, entity, table_name, rows, run_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [manifest.batch_id, manifest.source, manifest.entity, shown, rows, run_id],
            )
            con.execute("COMMIT")
            return LoadResult(manifest.batch_id, shown, rows)
        except BaseException as exc:
            _rollback_quietly(con)
            if not isinstance(exc, duckdb.Error):
                raise
            raise LoadError(
                f"loading batch {manifest.batch_id} into {qualified} failed: {exc}",
                hint="nothing of the batch was written; fix the cause and run `basin load` again",
            ) from None
        finally:
            con.close()

    @staticmethod
    def _add_new_columns(con: duckdb.DuckDBPyConnection, table: str, scan: str) -> None:
        """Additive schema evolution: columns new in the batch are added as nullable."""
        have = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [RAW_SCHEMA, table],
            ).fetchall()
        }
        for name, dtype, *_ in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall():
            if name not in have:
                con.execute(
                    f"ALTER TABLE {RAW_SCHEMA}.{quote(table)} ADD COLUMN {quote(name)} {dtype}"
                )

    def drop_raw(self, source: str, entity: str) -> None:
        table = raw_table_name(source, entity)
        con = self.connect()
        try:
            self._ensure_ledger(con)
            con.execute("BEGIN TRANSACTION")
            con.execute(f"DROP TABLE IF EXISTS {RAW_SCHEMA}.{quote(table)}")
            con.execute(
                f"DELETE FROM {LEDGER_SCHEMA}.load_ledger WHERE source = ? AND entity = ?",
                [source, entity],
            )
            con.execute("COMMIT")
        finally:
            con.close()

    def dbt_target(self) -> dict[str, Any]:
        cfg = self.project.env.warehouse
        target: dict[str, Any] = {
            "type": self.DBT_ADAPTER,
            "path": str(self.path),
            "schema": self.project.config.dbt.target_schema,
            "threads": self.project.config.dbt.threads,
        }
        settings = {}
        if cfg.memory_limit:
            settings["memory_limit"] = cfg.memory_limit
        if cfg.threads:
            settings["threads"] = cfg.threads
        if settings:
            target["settings"] = settings
        return target

    def after_dbt(self) -> None:
        # dbt-duckdb keeps its DuckDB instance open in a class attribute after an
        # in-process invocation. That holds the file's write lock and pins its
        # configuration, so a later read-only open in this process or any open by
        # another process fails. Close it (dbt-duckdb 1.11 internals).
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        with DuckDBConnectionManager._LOCK:
            env = DuckDBConnectionManager._ENV
            DuckDBConnectionManager._ENV = None
            if env is not None:
                env.close()

    def table_counts(self, schema: str) -> dict[str, int]:
        if not self.path.exists():
            return {}
        con = self.connect(read_only=True)
        try:
            return _counts(con, self.path.stem, [schema])
        finally:
            con.close()

    def publish(self, schemas: list[str], run_id: str) -> PublishResult:
        target = self.published_path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{run_id}.tmp")
        tmp.unlink(missing_ok=True)
        con = self.connect()
        try:
            catalog = self.path.stem
            present = {
                r[0]
                for r in con.execute(
                    "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = ?",
                    [catalog],
                ).fetchall()
            }
            missing = [s for s in schemas if s not in present]
            if missing:
                raise PublishError(
                    f"cannot publish: schema(s) {', '.join(missing)} not found in the warehouse",
                    hint="check publish.schemas in basin.yml against the +schema of your dbt models",
                )
            con.execute(f"ATTACH {literal(str(tmp))} AS basin_snapshot")
            tables = con.execute(
                """
                SELECT table_schema, table_name FROM information_schema.tables
                WHERE table_catalog = ? AND table_schema IN (SELECT unnest(?::VARCHAR[]))
                ORDER BY 1, 2
                """,
                [catalog, schemas],
            ).fetchall()
            for schema in schemas:
                con.execute(f"CREATE SCHEMA basin_snapshot.{quote(schema)}")
            for schema, name in tables:
                # Views become tables: the snapshot stands alone, BI needs nothing else.
                con.execute(
                    f"CREATE TABLE basin_snapshot.{quote(schema)}.{quote(name)} AS "
                    f"SELECT * FROM {quote(catalog)}.{quote(schema)}.{quote(name)}"
                )
            con.execute("CREATE SCHEMA basin_snapshot._basin")
            con.execute(
                "CREATE TABLE basin_snapshot._basin.publication AS "
                "SELECT ?::VARCHAR AS run_id, current_timestamp AS published_at",
                [run_id],
            )
            counts = _counts(con, "basin_snapshot", schemas)
            con.execute("CHECKPOINT basin_snapshot")
            con.execute("DETACH basin_snapshot")
        except duckdb.Error as exc:
            tmp.unlink(missing_ok=True)
            raise PublishError(
                f"building the snapshot {tmp} failed: {exc}",
                hint="the previous publication is untouched",
            ) from None
        finally:
            con.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)  # atomic on POSIX: readers see old or new
        _fsync_dir(target.parent)
        return PublishResult(location=str(target), tables=counts)

    def published_tables(self) -> dict[str, int] | None:
        if not self.published_path.exists():
            return None
        con = duckdb.connect(str(self.published_path), read_only=True)
        try:
            schemas = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_schema <> '_basin'"
                ).fetchall()
            ]
            return _counts(con, self.published_path.stem, schemas)
        finally:
            con.close()


def _counts(con: duckdb.DuckDBPyConnection, catalog: str, schemas: list[str]) -> dict[str, int]:
    out = {}
    rows = con.execute(
        """
        SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_catalog = ? AND table_schema IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY 1, 2
        """,
        [catalog, schemas],
    ).fetchall()
    for schema, name in rows:
        n = con.execute(
            f"SELECT count(*) FROM {quote(catalog)}.{quote(schema)}.{quote(name)}"
        ).fetchone()
        out[f"{schema}.{name}"] = int(n[0]) if n else 0
    return out


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # no transaction was open


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
