"""SQL that loads a lake batch into Snowflake through an external stage and COPY INTO.

The rows, the optional replace and the ledger entry run in one transaction; COPY
INTO's own load history (64 days) would skip the same files again anyway.
"""

from __future__ import annotations

import re

from basin.common.errors import LoadError
from basin.common.sql import LEDGER_SCHEMA, RAW_SCHEMA
from basin.lake.manifest import Manifest
from basin.warehouses.base import raw_table_name

_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
TYPES = {
    "TINYINT": "NUMBER(3, 0)",
    "SMALLINT": "NUMBER(5, 0)",
    "INTEGER": "NUMBER(10, 0)",
    "BIGINT": "NUMBER(19, 0)",
    "HUGEINT": "NUMBER(38, 0)",
    "FLOAT": "FLOAT",
    "DOUBLE": "FLOAT",
    "BOOLEAN": "BOOLEAN",
    "VARCHAR": "VARCHAR",
    "UUID": "VARCHAR(36)",
    "DATE": "DATE",
    "TIME": "TIME",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP_TZ",
    "BLOB": "BINARY",
    "JSON": "VARIANT",
    "INTERVAL": "VARCHAR",
}


def snowflake_type(duckdb_type: str) -> str:
    """The Snowflake column type for a DuckDB type in a manifest."""
    t = duckdb_type.upper()
    if t in TYPES:
        return TYPES[t]
    m = _DECIMAL.fullmatch(t)
    if m:
        return f"NUMBER({m[1]}, {m[2]})"
    if t.endswith("[]") or t.startswith(("STRUCT", "MAP", "UNION")):
        return "VARIANT"
    raise LoadError(f"no Snowflake type for the lake column type {duckdb_type}")


def _lit(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def stage_url(lake_url: str) -> str:
    if not lake_url.startswith("s3://"):
        raise LoadError(
            f"Snowflake loads from an external stage; the lake {lake_url} is not a bucket",
            hint="set environments.<env>.lake.url to s3://bucket/prefix",
        )
    return lake_url.rstrip("/") + "/"


def setup_statements(stage: str, lake_url: str, integration: str, warehouse: str) -> list[str]:
    return [
        f"USE WAREHOUSE {warehouse}",
        f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}",
        f"CREATE SCHEMA IF NOT EXISTS {LEDGER_SCHEMA}",
        f"CREATE STAGE IF NOT EXISTS {stage} URL = {_lit(stage_url(lake_url))} "
        f"STORAGE_INTEGRATION = {integration} FILE_FORMAT = (TYPE = PARQUET)",
        f"CREATE TABLE IF NOT EXISTS {LEDGER_SCHEMA}.load_ledger (batch_id VARCHAR PRIMARY KEY, "
        "source VARCHAR NOT NULL, entity VARCHAR NOT NULL, table_name VARCHAR NOT NULL, "
        "rows NUMBER(19, 0) NOT NULL, run_id VARCHAR, loaded_at TIMESTAMP_TZ NOT NULL)",
    ]


def load_statements(manifest: Manifest, stage: str, run_id: str | None) -> list[str]:
    """Statements that load one batch, in order (the last five are one transaction)."""
    table = f"{RAW_SCHEMA}.{raw_table_name(manifest.source, manifest.entity)}"
    columns = [(c["name"], snowflake_type(c["type"])) for c in manifest.columns]
    out = []
    if columns:
        cols = ", ".join(f"{name} {ctype}" for name, ctype in columns)
        out.append(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")
        out += [
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {ctype}"
            for name, ctype in columns
        ]
    out.append("BEGIN TRANSACTION")
    if manifest.load_mode == "replace" and columns:
        out.append(f"DELETE FROM {table}")
    if manifest.files:
        out.append(_copy_into(table, stage, manifest))
    out.append(_ledger_insert(manifest, table, manifest.row_count, run_id))
    out.append("COMMIT")
    return out


def _copy_into(table: str, stage: str, m: Manifest) -> str:
    folder = f"bronze/{m.source}/{m.entity}/batch={m.batch_id}/"
    files = ", ".join(_lit(f.path) for f in m.files)
    return (
        f"COPY INTO {table} FROM @{stage}/{folder} FILES = ({files}) "
        "FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE"
    )


def _ledger_insert(m: Manifest, table: str, rows: int, run_id: str | None) -> str:
    return (
        f"INSERT INTO {LEDGER_SCHEMA}.load_ledger (batch_id, source, entity, table_name, rows, run_id, loaded_at) "
        f"SELECT {_lit(m.batch_id)}, {_lit(m.source)}, {_lit(m.entity)}, {_lit(table)}, "
        f"{rows}, {_lit(run_id)}, CURRENT_TIMESTAMP()"
    )


REPLAY_SUFFIX = "__basin_replay"


def replay_statements(
    entities: list[tuple[str, str, list[Manifest]]], stage: str, run_id: str | None
) -> list[str]:
    """Statements that rebuild raw tables from their batches beside the old ones.

    Every batch is copied into ``raw.<table>__basin_replay`` first; only when all
    copies succeeded is each new table swapped with its old one (``ALTER TABLE … SWAP
    WITH`` is atomic per table; Snowflake's DDL commits on its own, so the swaps are
    not one transaction) and the ledger rewritten in one transaction. A failure while
    copying leaves every old table and the ledger as they were.
    """
    build: list[str] = []
    swap: list[str] = []
    ledger = ["BEGIN TRANSACTION"]
    for source, entity, manifests in entities:
        table = f"{RAW_SCHEMA}.{raw_table_name(source, entity)}"
        staged = table + REPLAY_SUFFIX
        columns: dict[str, str] = {}
        for m in manifests:
            for c in m.columns:
                columns.setdefault(c["name"], snowflake_type(c["type"]))
        cols = ", ".join(f"{n} {t}" for n, t in columns.items()) or "_basin_empty BOOLEAN"
        build.append(f"CREATE OR REPLACE TABLE {staged} ({cols})")
        for m in manifests:
            if m.load_mode == "replace":
                build.append(f"DELETE FROM {staged}")
            if m.files:
                build.append(_copy_into(staged, stage, m))
        swap += [
            f"CREATE TABLE IF NOT EXISTS {table} LIKE {staged}",
            f"ALTER TABLE {table} SWAP WITH {staged}",
            f"DROP TABLE {staged}",
        ]
        ledger.append(
            f"DELETE FROM {LEDGER_SCHEMA}.load_ledger WHERE source = {_lit(source)} "
            f"AND entity = {_lit(entity)}"
        )
        ledger += [_ledger_insert(m, table, m.row_count, run_id) for m in manifests]
    return build + swap + ledger + ["COMMIT"]
