"""DuckDB: the embedded default warehouse.

The pipeline's warehouse file is private to Basin and dbt. Publishing copies the
audited schemas into a new snapshot file that BI opens read-only (``publish.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from basin.common.errors import LoadError
from basin.lake.manifest import Manifest
from basin.warehouses.base import Governance, LoadResult, PublishResult, ReplayPlan, Warehouse
from basin.warehouses.duckdb import load, profile, publish
from basin.warehouses.duckdb.configuration import DuckDBWarehouse as DuckDBConfig


class DuckDBWarehouse(Warehouse):
    ENGINE = "duckdb"
    DBT_ADAPTER = "duckdb"
    SUPPORTS_TRANSACTIONAL_DDL = True
    READS_PARQUET_IN_PLACE = True
    PUBLISH_BY = "file-swap"

    _lineage_address: tuple[str, str] | None = None
    _reader: duckdb.DuckDBPyConnection | None = None

    @property
    def cfg(self) -> DuckDBConfig:
        cfg = self.project.env.warehouse
        assert isinstance(cfg, DuckDBConfig)
        return cfg

    @property
    def path(self) -> Path:
        return self.project.state_path(self.cfg.path)

    @property
    def catalog(self) -> str:
        return self.path.stem

    @property
    def published_path(self) -> Path:
        return self.project.publish_dir / publish.PUBLISHED_FILE

    @property
    def identity(self) -> str:
        return f"duckdb:{self.path}"

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        cfg = self.cfg
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

    def loaded_batch_ids(self) -> set[str]:
        if not self.path.exists():
            return set()
        with self.connect() as con:
            return load.loaded_batch_ids(con, load.Place(self.catalog))

    def load_batch(self, manifest: Manifest, urls: list[str], run_id: str | None) -> LoadResult:
        with self.connect() as con:
            self.lake.prepare(con)
            return load.load_batch(con, load.Place(self.catalog), manifest, urls, run_id)

    def drop_raw(self, source: str, entity: str) -> None:
        with self.connect() as con:
            load.drop_raw(con, load.Place(self.catalog), source, entity)

    def replay(
        self,
        entities: ReplayPlan,
        run_id: str | None,
        after_batch: Callable[[LoadResult], None] | None = None,
    ) -> list[LoadResult]:
        with self.connect() as con:
            self.lake.prepare(con)
            return load.replay(
                con, load.Place(self.catalog), entities, run_id, after_batch, drop_tables=True
            )

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

    def dbt_profile(self) -> tuple[dict[str, Any], dict[str, str]]:
        dbt = self.project.config.dbt
        cfg = self.project.env.warehouse
        return profile.dbt_target(cfg, self.path, dbt.target_schema, dbt.threads), {}  # type: ignore[arg-type]

    def lineage_dataset(self, schema: str, table: str) -> tuple[str, str]:
        # openlineage-dbt: namespace duckdb://<profile path>, name <catalog>.<schema>.<table>
        if self._lineage_address is None:  # called for every dataset of every event
            self._lineage_address = (f"duckdb://{self.dbt_target()['path']}", self.catalog)
        namespace, catalog = self._lineage_address
        return namespace, f"{catalog}.{schema}.{table}"

    def published_dataset(self, schema: str, table: str) -> tuple[str, str]:
        snapshot = self.published_path
        return f"duckdb://{snapshot}", f"{snapshot.stem}.{schema}.{table}"

    @contextmanager
    def reading(self) -> Iterator[None]:
        # Opening the warehouse file costs 15–30 ms (measured on the reference
        # platform's catalog, three opens per transform before this).
        if self._reader is not None:
            yield
            return
        with self.connect(read_only=True) as con:
            self._reader = con
            try:
                yield
            finally:
                self._reader = None

    def sample(self, sql: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        query = f"SELECT * FROM ({sql}) AS basin_sample LIMIT {int(limit)}"
        if self._reader is not None:
            with self._reader.cursor() as cur:
                cur.execute(query)
                return [d[0] for d in cur.description or []], cur.fetchall()
        with self.connect(read_only=True) as con:
            cur = con.execute(query)
            return [d[0] for d in cur.description or []], cur.fetchall()

    def columns(self, schemas: list[str]) -> dict[tuple[str, str], list[tuple[str, str]]]:
        if not self.path.exists():
            return {}  # nothing loaded yet: no schema exists
        return super().columns(schemas)

    def table_counts(self, schema: str) -> dict[str, int]:
        if not self.path.exists():
            return {}
        with self.connect(read_only=True) as con:
            return publish.counts(con, self.catalog, [schema])

    def execute(self, statements: list[str]) -> None:
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            for statement in statements:
                con.execute(statement)
            con.execute("COMMIT")

    def publish(
        self, schemas: list[str], run_id: str, governance: Governance | None = None
    ) -> PublishResult:
        self.refuse_governance(governance)
        with self.connect() as con:
            return publish.publish_snapshot(
                con,
                self.catalog,
                schemas,
                run_id,
                self.published_path,
                self.project.config.publish.duckdb_storage_version,
                keep=self.project.config.publish.keep,
            )

    def twin(self, name: str) -> Any:
        # The file's path is relative to the state folder, which the twin has its own.
        if Path(self.cfg.path).is_absolute():
            return self.cfg.model_copy(
                update={"path": self.cfg.path.removesuffix(".duckdb") + f"_{name}.duckdb"}
            )
        return self.cfg

    def kept_publications(self) -> list[str]:
        return publish.kept(self.published_path)

    def restore_publication(self, run_id: str) -> PublishResult:
        return publish.restore(
            self.published_path,
            run_id,
            self.project.config.publish.keep,
            masked=bool(self.project.config.access.masking),
        )

    def backup_published(self, folder: Path) -> list[str]:
        # The private warehouse is not copied: the lake rebuilds it (its load ledger
        # lives in it, so a lost file loads every batch again).
        return publish.backup(self.published_path, folder)

    def restore_published(self, folder: Path, files: list[str]) -> PublishResult:
        return publish.restore_backup(
            self.published_path, folder, files, self.project.config.publish.keep
        )

    def recover(self) -> None:
        publish.remove_partial_snapshots(self.published_path)

    def published_tables(self) -> dict[str, int] | None:
        return publish.published_tables(self.published_path)

    def published_checksums(self) -> dict[str, tuple[int, str]]:
        return publish.checksums(self.published_path)
