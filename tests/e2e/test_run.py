"""`basin run` end to end on the embedded default, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e


def published(project: Path, sql: str) -> list[tuple]:
    path = project / ".basin" / "dev" / "published" / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def warehouse(project: Path, sql: str) -> list[tuple]:
    with duckdb.connect(
        str(project / ".basin" / "dev" / "warehouse.duckdb"), read_only=True
    ) as con:
        return con.execute(sql).fetchall()


REVENUE = "select order_date::varchar, order_count, paid_revenue::double from marts.daily_revenue order by 1"
FIRST_REVENUE = [("2026-01-03", 2, 155.5), ("2026-01-04", 2, 250.0), ("2026-01-05", 1, 0.0)]


def test_run_publishes_marts_and_status_shows_it(cli, project: Path) -> None:
    result = cli("run", project=project)
    assert result.exit_code == 0, result.output
    assert published(project, REVENUE) == FIRST_REVENUE
    # Only the published schemas are in the snapshot, plus Basin's publication record.
    schemas = published(
        project, "select distinct table_schema from information_schema.tables order by 1"
    )
    assert schemas == [("_basin",), ("marts",)]

    status = cli("status", project=project)
    assert status.exit_code == 0, status.output
    for expected in (
        "run",
        "success",
        "extract",
        "load",
        "transform",
        "publish",
        "marts.daily_revenue",
    ):
        assert expected in status.stdout
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    platform = Platform(load_project(project))
    [entry] = platform.status()["runs"]
    steps = {s.name: (s.status, s.rows) for s in entry["steps"]}
    assert steps["extract"] == ("success", 5) and steps["load"] == ("success", 5)
    assert steps["publish"] == ("success", 3)
    platform.close()


def test_second_run_without_new_files_adds_no_rows(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    assert cli("run", project=project).exit_code == 0
    assert warehouse(project, "select count(*) from raw.shop__orders") == [(5,)]
    assert warehouse(project, "select count(*) from _basin.load_ledger") == [(1,)]
    assert published(project, REVENUE) == FIRST_REVENUE


def test_new_drop_flows_through_to_the_published_marts(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "5,grace@example.org,80.10,paid,2026-01-05 08:30:00\n"  # order 5 changed: now paid
        "6,ken@example.org,10.00,paid,2026-01-06 10:00:00\n"
    )
    assert cli("run", project=project).exit_code == 0
    assert published(project, REVENUE) == FIRST_REVENUE[:2] + [
        ("2026-01-05", 1, 80.1),
        ("2026-01-06", 1, 10.0),
    ]


def test_failing_model_keeps_last_publication_and_next_run_recovers(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n6,ken@example.org,10.00,paid,2026-01-06 10:00:00\n"
    )
    broken = project / "dbt" / "models" / "marts" / "broken.sql"
    broken.write_text("select * from {{ ref('stg_shop__orders') }} where no_such_column = 1\n")

    result = cli("run", project=project)
    assert result.exit_code != 0
    assert "step 'transform'" in result.stderr and "model.proj.broken" in result.stderr
    assert "Traceback" not in result.output
    # Consumers still read the previous marts.
    assert published(project, REVENUE) == FIRST_REVENUE
    # Extract and load finished and are kept; only transform failed.
    assert warehouse(project, "select count(*) from raw.shop__orders") == [(6,)]
    publish_alone = cli("publish", project=project)
    assert publish_alone.exit_code != 0 and "failed" in publish_alone.stderr
    assert published(project, REVENUE) == FIRST_REVENUE

    broken.unlink()
    assert cli("run", project=project).exit_code == 0
    assert published(project, REVENUE)[-1] == ("2026-01-06", 1, 10.0)


def test_failing_test_blocks_publication(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n7,tim@example.org,99.00,lost,2026-01-07 10:00:00\n"
    )
    result = cli("run", project=project)
    assert result.exit_code != 0
    assert "accepted_values_stg_shop__orders_order_status" in result.stderr
    assert published(project, REVENUE) == FIRST_REVENUE


def test_step_commands_one_by_one(cli, project: Path) -> None:
    for step in ("extract", "load", "transform", "check", "publish"):
        result = cli(step, project=project)
        assert result.exit_code == 0, (step, result.output)
    assert published(project, REVENUE) == FIRST_REVENUE
    assert cli("load", project=project).stdout.count("0 batch(es) loaded") == 1


def test_select_limits_extract_to_one_entity(cli, project: Path) -> None:
    result = cli("extract", "--select", "shop.orders", project=project)
    assert result.exit_code == 0 and "shop.orders: 5 rows" in result.stdout
    bad = cli("extract", "--select", "shop.order", project=project)
    assert bad.exit_code == 2 and "did you mean 'shop.orders'" in bad.stderr


def test_metadata_store_on_postgres(cli, project: Path, pg_url: str, pg_schema: str) -> None:
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            '    # metadata: {url: "sqlite:///metadata.db"}  # or postgresql+psycopg://…',
            f'    metadata: {{url: "${{env:BASIN_TEST_META_URL}}", schema: {pg_schema}}}',
        )
    )
    os.environ["BASIN_TEST_META_URL"] = pg_url.replace("postgresql://", "postgresql+psycopg://")
    try:
        assert cli("run", project=project).exit_code == 0
        status = cli("status", project=project)
    finally:
        del os.environ["BASIN_TEST_META_URL"]
    assert "marts.daily_revenue" in status.stdout and "success" in status.stdout
    assert not (project / ".basin" / "dev" / "metadata.db").exists()
    import psycopg

    with psycopg.connect(pg_url) as conn:
        runs = conn.execute(f'select command, status from "{pg_schema}".basin_runs').fetchall()
    assert runs == [("run", "success")]


MARTS = [
    "customer_summary",
    "account_transaction_summary",
    "order_metrics_monthly",
    "email_engagement_by_campaign",
    "customer_360",
]


def basin_cli(
    reference: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        [str(bin_dir / "basin"), "--project", str(reference), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def generate(reference: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(reference / "generator.py"), "--root", str(reference), *args],
        check=True,
    )


def test_replay_rebuilds_raw_from_the_lake(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    (project / "drops" / "shop" / "orders_001.csv").unlink()  # the source is gone
    result = cli("replay", project=project)
    assert result.exit_code == 0, result.output
    assert "1 raw table(s) rebuilt from 1 batch(es)" in result.stdout
    assert "raw.shop__orders: 5 rows" in result.stdout
    assert warehouse(project, "select count(*) from raw.shop__orders") == [(5,)]
    assert warehouse(project, "select count(*) from _basin.load_ledger") == [(1,)]


def test_extract_flags_in_the_cli(cli, project: Path) -> None:
    assert cli("extract", project=project).exit_code == 0
    again = cli("extract", "--select", "shop.orders", "--full-refresh", project=project)
    assert again.exit_code == 0 and "shop.orders: 5 rows" in again.stdout
    since = cli("extract", "--since", "2026-01-01", project=project)
    assert since.exit_code == 1 and "--since applies to cursor-based entities" in since.stderr
    help_text = cli("extract", "--help").stdout
    assert "--full-refresh" in help_text and "--since" in help_text


@pytest.mark.postgres
def test_reference_example_on_postgres_matches_duckdb(reference: Path, pg_database: str) -> None:
    import hashlib
    from decimal import Decimal

    import psycopg

    def both_engines_run() -> None:
        for basin_env in ("dev", "postgres"):
            done = basin_cli(
                reference, "--env", basin_env, "run", env={"BASIN_WAREHOUSE_DSN": pg_database}
            )
            assert done.returncode == 0, done.stdout + done.stderr

    def digest(rows: list[tuple]) -> str:
        def norm(v: object) -> str:
            if isinstance(v, float | Decimal):
                return f"{Decimal(str(round(v, 6))).normalize():f}"
            return str(v)

        return hashlib.sha256(
            repr(sorted(tuple(norm(v) for v in r) for r in rows)).encode()
        ).hexdigest()

    # Day 1 builds everything; day 2 follows the delta on both engines (the
    # delta-aware tests and incremental aggregates in PostgreSQL's SQL too).
    for day_args in ((), ("--add-day",)):
        generate(reference, "--scale", "0.005", *day_args)
        both_engines_run()
        with psycopg.connect(pg_database) as conn:
            for mart in MARTS:
                sql = f"select * from marts.{mart}"
                duck = published(reference, sql)
                pg_rows = conn.execute(sql).fetchall()  # type: ignore[arg-type]
                assert len(duck) == len(pg_rows) > 0, mart
                assert digest(duck) == digest(pg_rows), (mart, day_args)
    with psycopg.connect(pg_database) as conn:
        unbuilt = conn.execute(
            "select count(*) from _basin.load_ledger where built_run is null"
        ).fetchone()
    assert unbuilt == (0,)  # every batch taken by a build that passed
    results = json.loads((reference / ".basin/postgres/dbt/target/run_results.json").read_text())
    [balanced] = [r for r in results["results"] if r["unique_id"].endswith("int_accounts_balanced")]
    assert "batch_id in (" in balanced["compiled_code"]
    # The catalog knows the published tables' columns on both engines (read after the
    # swap: on PostgreSQL the audit schema is gone by then).
    import sqlite3

    def published_columns(env: str) -> dict[str, list[str]]:
        with sqlite3.connect(reference / ".basin" / env / "metadata.db") as db:
            rows = db.execute(
                "select key, columns from basin_datasets where kind = 'published' and env = ?",
                (env,),
            ).fetchall()
        return {k: [c[0] for c in json.loads(cols or "[]")] for k, cols in rows}

    on_duckdb, on_postgres = published_columns("dev"), published_columns("postgres")
    assert on_postgres == on_duckdb and all(on_duckdb.values()) and len(on_duckdb) == len(MARTS)
