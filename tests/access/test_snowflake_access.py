"""Access on Snowflake, compiled: no account is reachable here. Every statement parses
with sqlglot's Snowflake dialect (most of this DDL only as a generic command: sqlglot
does not model it), the policy bodies parse as expressions, and the plan and the
publish carry what the policy says."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from tests.access.conftest import add_pii_mart

SNOWFLAKE = """
  prod:
    lake: {url: "s3://lake-bucket/prod"}
    warehouse:
      engine: snowflake
      account: myorg-acct
      user: SVC_BASIN
      database: ANALYTICS_PROD
      private_key_path: /run/secrets/sf.pem
      storage_integration: LAKE_INT
      compute: {load: LOAD_WH, transform: TRANSFORM_WH, bi: BI_WH}
"""


@pytest.fixture
def sf(project: Path) -> Path:
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace("\nsources:", SNOWFLAKE + "\nsources:", 1)
        + "\naccess:\n  role_prefix: acme_\n  users:\n"
        "    ada: {roles: [analyst], attributes: {status: [paid]}}\n"
        "    airflow: {kind: service, roles: [basin_loader], public_key: MIIBIjANBgkq}\n"
        "  masking:\n    default: {rule: hash}\n    email: {rule: partial, reveal_to: [engineer]}\n"
        "  row_policies:\n    - {table: marts.customers, column: customer_email, attribute: status}\n"
    )
    add_pii_mart(
        project,
        "customers",
        "select customer_email, count(*) as orders from {{ ref('stg_shop__orders') }} group by 1",
        {"customer_email": "email"},
    )
    return project


def _parses(statement: str) -> None:
    if statement.startswith("CREATE ROW ACCESS POLICY"):
        # sqlglot fails on this statement's grammar: its body is checked instead.
        body = statement.split(" -> ", 1)[1]
        sqlglot.parse_one(body, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
        return
    sqlglot.parse_one(statement, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)


def test_the_plan_is_the_whole_policy_in_snowflake_sql(cli, sf: Path) -> None:
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    platform = Platform(load_project(sf, "prod"))
    assert platform.compile(offline=True).success  # the manifest: what dbt builds, PII tags
    platform.close()
    shown = cli("--env", "prod", "access", "plan", "--sql", project=sf)
    assert shown.exit_code == 0, shown.output
    statements = [
        s
        for s in shown.stdout.split(";\n")
        if s.strip().startswith(("CREATE", "GRANT", "INSERT", "DELETE"))
    ]
    text = "\n".join(statements)
    for statement in statements:
        _parses(statement.strip())
    assert "CREATE ROLE IF NOT EXISTS acme_analyst" in text
    assert "GRANT USAGE ON SCHEMA ANALYTICS_PROD.marts TO ROLE acme_analyst" in text
    assert (
        "GRANT SELECT ON FUTURE TABLES IN SCHEMA ANALYTICS_PROD.staging TO ROLE acme_engineer"
        in text
    )
    # Published schemas are granted at each publish, never by future grants.
    assert "FUTURE TABLES IN SCHEMA ANALYTICS_PROD.marts " not in text
    assert (
        "CREATE USER IF NOT EXISTS airflow TYPE = SERVICE RSA_PUBLIC_KEY = 'MIIBIjANBgkq'" in text
    )
    assert "CREATE USER IF NOT EXISTS ada TYPE = PERSON" in text
    assert "GRANT ROLE acme_basin_loader TO USER airflow" in text
    assert (
        "basin_mask_email AS (val STRING) RETURNS STRING -> CASE WHEN IS_ROLE_IN_SESSION('ACME_ENGINEER')"
        in text
    )
    assert (
        "INSERT INTO ANALYTICS_PROD._basin.access_attributes VALUES ('ADA', 'status', 'paid')"
        in text
    )
    assert "Snowflake: the whole policy" in shown.stdout
    # Applying needs an account: said, not pretended.
    refused = cli("--env", "prod", "access", "apply", project=sf)
    assert refused.exit_code != 0 and "PostgreSQL" in refused.stderr


@pytest.mark.parametrize("rule", ["hash", "partial", "null"])
def test_each_masking_body_is_an_expression_that_reveals_to_the_named_roles(rule: str) -> None:
    from basin.access.snowflake import mask_body

    body = sqlglot.parse_one(mask_body(rule, ["acme_engineer"]), read="snowflake")
    assert isinstance(body, exp.Case)
    assert "IS_ROLE_IN_SESSION('ACME_ENGINEER')" in body.sql(dialect="snowflake")


def test_publish_sets_the_policies_and_grants_before_the_swap(sf: Path) -> None:
    from basin.access.manage import publish_governance
    from basin.config import load_project
    from basin.pipeline.platform import Platform
    from basin.warehouses.snowflake.publish import publish_statements

    project = load_project(sf, "prod")
    platform = Platform(project)
    assert platform.compile(offline=True).success
    platform.close()
    statements = publish_statements(
        ["marts"], "_audit", "r1", "TRANSFORM_WH", publish_governance(project, ["marts"])
    )
    swap = statements.index("ALTER SCHEMA marts_audit SWAP WITH marts")
    before, after = statements[:swap], statements[swap + 1 :]
    assert (
        "ALTER TABLE ANALYTICS_PROD.marts_audit.customers MODIFY COLUMN customer_email "
        "SET MASKING POLICY ANALYTICS_PROD._basin.basin_mask_email FORCE" in before
    )
    assert any(
        "ADD ROW ACCESS POLICY ANALYTICS_PROD._basin.basin_rows_marts_customers" in s
        for s in before
    )
    assert (
        "GRANT SELECT ON ALL TABLES IN SCHEMA ANALYTICS_PROD.marts_audit TO ROLE acme_analyst"
        in before
    )
    assert "REVOKE USAGE ON SCHEMA ANALYTICS_PROD.marts_audit FROM ROLE acme_analyst" in after
    for statement in statements:
        _parses(statement)
