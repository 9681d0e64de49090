"""Snowflake warehouse: runs the statements of ``load.py`` and ``publish.py`` through
snowflake-connector-python (installed with dbt-snowflake), authenticating with the
service user's key pair."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from basin.common.errors import LoadError
from basin.common.sql import LEDGER_SCHEMA
from basin.lake.manifest import Manifest
from basin.warehouses.base import (
    Governance,
    LoadResult,
    PublishResult,
    ReplayPlan,
    Warehouse,
    raw_table_name,
)
from basin.warehouses.snowflake import load, profile, publish
from basin.warehouses.snowflake.configuration import SnowflakeWarehouse as SnowflakeConfig


class SnowflakeWarehouse(Warehouse):
    ENGINE = "snowflake"
    DBT_ADAPTER = "snowflake"
    SUPPORTS_TRANSACTIONAL_DDL = False
    READS_PARQUET_IN_PLACE = True  # from the lake bucket, through an external stage
    PUBLISH_BY = "schema-swap"

    @property
    def cfg(self) -> SnowflakeConfig:
        return self.project.env.warehouse  # type: ignore[return-value]

    def lineage_dataset(self, schema: str, table: str) -> tuple[str, str]:
        return f"snowflake://{self.cfg.account}", f"{self.cfg.database}.{schema}.{table}".upper()

    @property
    def identity(self) -> str:
        return f"snowflake://{self.cfg.account}/{self.cfg.database}"

    @property
    def audit_suffix(self) -> str:
        return self.cfg.audit_suffix

    def _connect(self, warehouse: str) -> Any:
        try:
            import snowflake.connector
            from cryptography.hazmat.primitives import serialization
        except ImportError:
            raise LoadError(
                "the Snowflake connector is not installed",
                hint="pip install 'dbt-snowflake>=1.11,<1.12'",
            ) from None
        passphrase = self.cfg.private_key_passphrase
        with open(self.cfg.private_key_path, "rb") as fh:
            key = serialization.load_pem_private_key(
                fh.read(), password=passphrase.get_secret_value().encode() if passphrase else None
            )
        return snowflake.connector.connect(
            account=self.cfg.account,
            user=self.cfg.user,
            role=self.cfg.role,
            database=self.cfg.database,
            warehouse=warehouse,
            private_key=key,
            session_parameters={"QUERY_TAG": "basin"},
        )

    def _run(self, statements: list[str], warehouse: str) -> list[Any]:
        conn = self._connect(warehouse)
        try:
            cur = conn.cursor()
            out = []
            for statement in statements:
                cur.execute(statement)
                out.append(cur.fetchall() if cur.description else None)
            return out
        except Exception:
            conn.rollback()
            raise
        finally:
            conn.close()

    @property
    def ledger_table(self) -> str:
        return f"{LEDGER_SCHEMA}.load_ledger"  # unquoted, as created (Snowflake upper-cases it)

    def loaded_batch_ids(self) -> set[str]:
        rows = self._run(
            [
                *load.setup_statements(
                    self.cfg.stage,
                    self.project.lake_url,
                    self.cfg.storage_integration,
                    self.cfg.compute.load,
                ),
                f"SELECT batch_id FROM {LEDGER_SCHEMA}.load_ledger",
            ],
            self.cfg.compute.load,
        )[-1]
        return {r[0] for r in rows or []}

    def load_batch(self, manifest: Manifest, urls: list[str], run_id: str | None) -> LoadResult:
        table = f"raw.{raw_table_name(manifest.source, manifest.entity)}"
        if manifest.batch_id in self.loaded_batch_ids():
            return LoadResult(manifest.batch_id, table, 0, skipped=True)
        self._run(load.load_statements(manifest, self.cfg.stage, run_id), self.cfg.compute.load)
        return LoadResult(manifest.batch_id, table, manifest.row_count)

    def drop_raw(self, source: str, entity: str) -> None:
        table = f"raw.{raw_table_name(source, entity)}"
        self._run(
            [
                "BEGIN TRANSACTION",
                f"DROP TABLE IF EXISTS {table}",
                f"DELETE FROM {LEDGER_SCHEMA}.load_ledger WHERE source = '{source}' AND entity = '{entity}'",
                "COMMIT",
            ],
            self.cfg.compute.load,
        )

    def replay(
        self,
        entities: ReplayPlan,
        run_id: str | None,
        after_batch: Callable[[LoadResult], None] | None = None,
    ) -> list[LoadResult]:
        statements = load.replay_statements(
            [(s, e, [m for m, _ in batches]) for s, e, batches in entities],
            self.cfg.stage,
            run_id,
        )
        self._run(statements, self.cfg.compute.load)
        results = [
            LoadResult(m.batch_id, f"raw.{raw_table_name(s, e)}", m.row_count)
            for s, e, batches in entities
            for m, _ in batches
        ]
        for r in results:
            if after_batch:
                after_batch(r)
        return results

    def dbt_profile(self) -> tuple[dict[str, Any], dict[str, str]]:
        dbt = self.project.config.dbt
        return profile.dbt_target(self.cfg, dbt.target_schema, dbt.threads)

    def tagged_dbt_target(self, step: str, run_id: str | None) -> dict[str, Any]:
        return {**self.dbt_target(), "query_tag": self.tag(step, run_id)}

    def sample(self, sql: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        conn = self._connect(self.cfg.compute.transform)
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT * FROM ({sql}) AS basin_sample LIMIT {int(limit)}")
            return [d[0] for d in cur.description or []], cur.fetchall()
        finally:
            conn.close()

    def table_counts(self, schema: str) -> dict[str, int]:
        rows = self._run(
            [
                f"SELECT table_name, row_count FROM information_schema.tables WHERE table_schema = '{schema.upper()}'"
            ],
            self.cfg.compute.bi,
        )[0]
        return {f"{schema}.{name.lower()}": int(n or 0) for name, n in rows or []}

    def row_counts(self, relations: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Snowflake keeps each table's row count in its metadata (no scan)."""
        counts: dict[tuple[str, str], int] = {}
        for schema in sorted({s for s, _ in relations}):
            for qualified, n in self.table_counts(schema).items():
                counts[(schema.lower(), qualified.partition(".")[2])] = n
        wanted = {(s.lower(), t.lower()) for s, t in relations}
        return {k: v for k, v in counts.items() if k in wanted}

    def execute(self, statements: list[str]) -> None:
        self._run(["BEGIN TRANSACTION", *statements, "COMMIT"], self.cfg.compute.transform)

    def publish(
        self, schemas: list[str], run_id: str, governance: Governance | None = None
    ) -> PublishResult:
        self._run(
            publish.publish_statements(
                schemas, self.audit_suffix, run_id, self.cfg.compute.transform, governance
            ),
            self.cfg.compute.transform,
        )
        tables: dict[str, int] = {}
        for schema in schemas:
            tables.update(self.table_counts(schema))
        return PublishResult(
            location=f"{self.identity} schemas {', '.join(schemas)}", tables=tables
        )

    def published_tables(self) -> dict[str, int] | None:
        tables: dict[str, int] = {}
        for schema in self.project.config.publish.schemas:
            tables.update(self.table_counts(schema))
        return tables or None
