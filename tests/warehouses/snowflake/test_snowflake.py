"""Snowflake: the SQL Basin generates, parsed with sqlglot's Snowflake dialect and compared
with expected statements, and the dbt project compiled with the generated profile.
No Snowflake account is reachable here: nothing in this file talks to one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sqlglot
import yaml

from basin.common.errors import LoadError
from basin.config import load_project
from basin.lake.manifest import DataFile, Manifest
from basin.pipeline.platform import Platform
from basin.warehouses.snowflake import load, profile, publish


def norm(statement: str) -> str:
    """One canonical text per statement: parse with the Snowflake dialect and print it back."""
    return sqlglot.parse_one(statement, read="snowflake").sql(dialect="snowflake")


def assert_same(generated: list[str], expected: list[str]) -> None:
    assert [norm(s) for s in generated] == [norm(s) for s in expected]


MANIFEST = Manifest(
    batch_id="20260101T000000000000Z-abc123",
    source="fin",
    entity="accounts",
    run_id="r1",
    created_at="2026-01-01T00:00:00+00:00",
    row_count=42,
    columns=[
        {"name": "account_id", "type": "BIGINT"},
        {"name": "balance", "type": "DECIMAL(12,2)"},
        {"name": "opened_at", "type": "TIMESTAMP WITH TIME ZONE"},
        {"name": "tags", "type": "VARCHAR[]"},
        {"name": "meta", "type": "JSON"},
        {"name": "_basin_batch_id", "type": "VARCHAR"},
    ],
    files=[DataFile(path="part-00000.parquet", size=1, sha256="x", rows=42)],
    load_mode="replace",
)


def test_setup_statements() -> None:
    assert_same(
        load.setup_statements("_basin.lake", "s3://lake-bucket/prod", "LAKE_INT", "LOAD_WH"),
        [
            "USE WAREHOUSE LOAD_WH",
            "CREATE SCHEMA IF NOT EXISTS raw",
            "CREATE SCHEMA IF NOT EXISTS _basin",
            "CREATE STAGE IF NOT EXISTS _basin.lake URL = 's3://lake-bucket/prod/' "
            "STORAGE_INTEGRATION = LAKE_INT FILE_FORMAT = (TYPE = PARQUET)",
            "CREATE TABLE IF NOT EXISTS _basin.load_ledger (batch_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, "
            "entity VARCHAR NOT NULL, table_name VARCHAR NOT NULL, rows NUMBER(19, 0) NOT NULL, run_id VARCHAR, "
            "loaded_at TIMESTAMP_TZ NOT NULL)",
        ],
    )


def test_load_statements_copy_into_from_the_stage_with_the_ledger_in_one_transaction() -> None:
    columns = [
        "account_id NUMBER(19, 0)",
        "balance NUMBER(12, 2)",
        "opened_at TIMESTAMP_TZ",
        "tags VARIANT",
        "meta VARIANT",
        "_basin_batch_id VARCHAR",
    ]
    cols = ", ".join(columns)
    adds = [f"ALTER TABLE raw.fin__accounts ADD COLUMN IF NOT EXISTS {c}" for c in columns]
    assert_same(
        load.load_statements(MANIFEST, "_basin.lake", "r1"),
        [
            f"CREATE TABLE IF NOT EXISTS raw.fin__accounts ({cols})",
            *adds,
            "BEGIN TRANSACTION",
            "DELETE FROM raw.fin__accounts",
            "COPY INTO raw.fin__accounts FROM @_basin.lake/bronze/fin/accounts/batch=20260101T000000000000Z-abc123/ "
            "FILES = ('part-00000.parquet') FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE",
            "INSERT INTO _basin.load_ledger (batch_id, source, entity, table_name, rows, run_id, loaded_at) "
            "SELECT '20260101T000000000000Z-abc123', 'fin', 'accounts', 'raw.fin__accounts', 42, 'r1', CURRENT_TIMESTAMP()",
            "COMMIT",
        ],
    )


def test_publish_swaps_each_schema() -> None:
    assert_same(
        publish.publish_statements(["marts", "finance"], "_audit", "r7", "TRANSFORM_WH"),
        [
            "USE WAREHOUSE TRANSFORM_WH",
            "CREATE SCHEMA IF NOT EXISTS marts",
            "ALTER SCHEMA marts_audit SWAP WITH marts",
            "CREATE SCHEMA IF NOT EXISTS finance",
            "ALTER SCHEMA finance_audit SWAP WITH finance",
            "CREATE TABLE IF NOT EXISTS _basin.publications (run_id VARCHAR PRIMARY KEY, "
            "published_at TIMESTAMP_TZ NOT NULL, schemas ARRAY)",
            "INSERT INTO _basin.publications (run_id, published_at, schemas) "
            "SELECT 'r7', CURRENT_TIMESTAMP(), ARRAY_CONSTRUCT('marts', 'finance')",
        ],
    )


def test_lake_must_be_a_bucket() -> None:
    with pytest.raises(LoadError, match="not a bucket"):
        load.stage_url("/home/me/lake")


SNOWFLAKE_ENV = """
  prod:
    lake: {url: "s3://lake-bucket/prod"}
    warehouse:
      engine: snowflake
      account: myorg-acct
      user: SVC_BASIN
      role: TRANSFORMER
      database: ANALYTICS_PROD
      private_key_path: "${env:SF_KEY_PATH}"
      private_key_passphrase: "${env:SF_KEY_PASSPHRASE}"
      storage_integration: LAKE_INT
      compute: {load: LOAD_WH, transform: TRANSFORM_WH, bi: BI_WH}
"""


@pytest.fixture
def sf_project(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    monkeypatch.setenv("SF_KEY_PATH", str(key))
    monkeypatch.setenv("SF_KEY_PASSPHRASE", "not-in-any-file")
    yml = project / "basin.yml"
    yml.write_text(yml.read_text().replace("\nsources:", SNOWFLAKE_ENV + "\nsources:", 1))
    return project


def test_profile_uses_key_pair_and_the_transform_warehouse(sf_project: Path) -> None:
    cfg = load_project(sf_project, "prod").env.warehouse
    target, env = profile.dbt_target(cfg, "main", 4)  # type: ignore[arg-type]
    assert target["type"] == "snowflake" and target["warehouse"] == "TRANSFORM_WH"
    assert target["private_key_path"].endswith("key.pem") and "password" not in target
    assert target["private_key_passphrase"] == "{{ env_var('BASIN_DBT_SNOWFLAKE_KEY_PASSPHRASE') }}"
    assert env == {"BASIN_DBT_SNOWFLAKE_KEY_PASSPHRASE": "not-in-any-file"}


def test_dbt_project_compiles_for_snowflake(sf_project: Path) -> None:
    platform = Platform(load_project(sf_project, "prod"))
    run = platform.compile()
    assert run.success, run.error
    compiled = sf_project / ".basin" / "prod" / "dbt" / "target" / "compiled" / "proj" / "models"
    mart = (compiled / "marts" / "daily_revenue.sql").read_text()
    assert "ANALYTICS_PROD.staging.stg_shop__orders" in mart
    sqlglot.parse_one(mart, read="snowflake")  # valid Snowflake SQL
    manifest = (sf_project / ".basin" / "prod" / "dbt" / "target" / "manifest.json").read_text()
    assert '"schema": "marts_audit"' in manifest  # published models build into the audit schema
    # Basin's generic tests compile to Snowflake SQL too (regex dispatched to REGEXP_LIKE).
    tests = compiled / "staging" / "shop" / "_shop__models.yml"
    [regex_sql] = [p.read_text() for p in tests.glob("basin_regex_*.sql")]
    assert "regexp_like(" in regex_sql
    sqlglot.parse_one(regex_sql, read="snowflake")
    [contract_sql] = [
        p.read_text()
        for p in (compiled / "marts" / "_marts.yml").glob("basin_table_contract_*.sql")
    ]
    sqlglot.parse_one(contract_sql, read="snowflake")
    profiles = yaml.safe_load((sf_project / ".basin" / "prod" / "dbt" / "profiles.yml").read_text())
    assert "not-in-any-file" not in str(profiles)
    platform.close()


def test_reference_platform_compiles_for_snowflake(
    reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    monkeypatch.setenv("SF_KEY_PATH", str(key))
    monkeypatch.setenv("SF_KEY_PASSPHRASE", "x")
    yml = reference / "basin.yml"
    yml.write_text(yml.read_text().replace("\nsources:", SNOWFLAKE_ENV + "\nsources:", 1))
    platform = Platform(load_project(reference, "prod"))
    # Offline: incremental models (the vault, staging, aggregates) and snapshots need a
    # connection even to compile (is_incremental() looks the table up); they are skipped.
    run = platform.compile(offline=True)
    assert run.success, run.error
    compiled = (
        reference / ".basin" / "prod" / "dbt" / "target" / "compiled" / "reference" / "models"
    )
    models = [p for p in compiled.rglob("*.sql") if not p.parent.name.endswith(".yml")]
    # 5 marts, 3 intermediate views (the 3 aggregates that follow the delta are
    # incremental), 3 staging views (the 8 incremental staging models skipped), the
    # vault's PIT (its hubs, links, satellites, bridge and effectivity are incremental).
    assert len(models) == 5 + 3 + 3 + 1
    for path in models:
        sqlglot.parse_one(path.read_text(), read="snowflake")  # valid Snowflake SQL
    platform.close()
