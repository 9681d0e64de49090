"""The quality gate: severities, recorded results with samples, held builds, the report,
and readers of the published DuckDB file during publishes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import duckdb
import pytest

from basin.config import load_project
from basin.pipeline.platform import Platform
from tests.conftest import ENGINES

LOST_ORDER = "order_id,customer_email,amount,status,ordered_at\n7,tim@example.org,99.00,lost,2026-01-07 10:00:00\n"
REVENUE = "select order_date::varchar, order_count from marts.daily_revenue order by 1"


def set_quality(project: Path, text: str) -> None:
    yml = project / "basin.yml"
    body = yml.read_text().split("\nquality:")[0]
    yml.write_text(body + "\nquality:\n" + text)


def published(project: Path, sql: str) -> list[tuple]:
    with duckdb.connect(
        str(project / ".basin/dev/published/warehouse.duckdb"), read_only=True
    ) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, project: Path):
    """(env args for the CLI, a function reading the published marts) per engine."""
    if request.param == "duckdb":
        return [], lambda sql: published(project, sql), None
    import psycopg

    db = request.getfixturevalue("pg_database")
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "sources:", f'  pg:\n    warehouse: {{engine: postgres, dsn: "{db}"}}\n\nsources:', 1
        )
    )

    def read(sql: str) -> list[tuple]:
        with psycopg.connect(db) as conn:
            return conn.execute(sql.replace("::varchar", "::text")).fetchall()  # type: ignore[arg-type]

    return ["--env", "pg"], read, "pg"


def test_warn_failure_publishes_and_records_with_a_sample(cli, project: Path, engine) -> None:
    env_args, read, env = engine
    set_quality(project, "  severity: {staging: warn, marts: error}\n")
    assert cli(*env_args, "run", project=project).exit_code == 0
    (project / "drops" / "shop" / "orders_002.csv").write_text(LOST_ORDER)
    result = cli(*env_args, "run", project=project)
    assert result.exit_code == 0, result.output
    assert "1 check(s) warned" in result.stdout
    assert ("2026-01-07", 1) in read(REVENUE)  # published despite the warning

    platform = Platform(load_project(project, env))
    latest = platform.store.runs(1)[0].run_id
    [warned] = [r for r in platform.store.check_results(latest) if r.status == "warn"]
    assert warned.model == "stg_shop__orders" and warned.column_name == "order_status"
    assert warned.severity == "warn" and warned.failures == 1
    sample = json.loads(warned.sample or "{}")
    assert ["lost", 1] in sample["rows"]  # accepted_values returns value + count
    platform.close()


def test_error_failure_blocks_and_records(cli, project: Path, engine) -> None:
    env_args, read, env = engine
    assert cli(*env_args, "run", project=project).exit_code == 0
    (project / "drops" / "shop" / "orders_002.csv").write_text(LOST_ORDER)
    assert cli(*env_args, "run", project=project).exit_code == 1
    assert ("2026-01-07", 1) not in read(REVENUE)
    assert len(read(REVENUE)) == 3  # consumers still read the previous marts
    platform = Platform(load_project(project, env))
    failed = platform.store.runs(1)[0]
    assert failed.status == "failed"
    results = platform.store.check_results(failed.run_id)
    [bad] = [r for r in results if r.status == "fail"]
    assert bad.column_name == "order_status" and json.loads(bad.sample or "{}")["rows"] == [
        ["lost", 1]
    ]
    assert any(r.status == "pass" for r in results)
    platform.close()


MARTS = "select table_name from information_schema.tables where table_schema = 'marts' order by 1"


def test_a_model_deleted_from_the_project_is_not_published(cli, project: Path, engine) -> None:
    # An earlier build's relations stay in the audit schema unless Basin removes them
    # (DuckDB's pipeline file keeps everything ever built; on PostgreSQL the audit schema
    # is the previous publication): publishing the schema whole would hand consumers a
    # table no check of this build looked at.
    env_args, read, env = engine
    marts = project / "dbt" / "models" / "marts"
    (marts / "old_report.sql").write_text("select 1 as n\n")
    (marts / "old_view.sql").write_text(
        "{{ config(materialized='view') }}\nselect * from {{ ref('old_report') }}\n"
    )
    (marts / "old_summary.sql").write_text(  # a view over a view: dropped together
        "{{ config(materialized='view') }}\nselect count(*) as c from {{ ref('old_view') }}\n"
    )
    # Twice: on PostgreSQL and Snowflake the audit schema is the previous publication.
    for _ in range(2):
        assert cli(*env_args, "run", project=project).exit_code == 0
    assert [r[0] for r in read(MARTS)] == ["daily_revenue", "old_report", "old_summary", "old_view"]

    (marts / "old_report.sql").unlink()
    (marts / "old_view.sql").unlink()
    (marts / "old_summary.sql").unlink()
    partial = cli(*env_args, "transform", "--select", "daily_revenue", project=project)
    assert partial.exit_code == 0, partial.output
    assert "no longer builds" not in partial.output  # a partial build proves nothing

    result = cli(*env_args, "run", project=project)
    assert result.exit_code == 0, result.output
    assert "dropped 3 relation(s) the dbt project no longer builds" in result.output
    assert "old_report" in result.output and "old_view" in result.output
    assert [r[0] for r in read(MARTS)] == ["daily_revenue"]
    # The next build on DuckDB has nothing left to drop (on PostgreSQL its audit schema
    # is the publication before, which still held them: they are dropped once more).
    again = cli(*env_args, "run", project=project)
    assert again.exit_code == 0, again.output
    assert ("no longer builds" in again.output) == (env is not None)
    assert [r[0] for r in read(MARTS)] == ["daily_revenue"]


def test_block_on_warn_holds_the_build_until_accepted(cli, project: Path) -> None:
    set_quality(project, "  severity: {staging: warn}\n  block_on_warn: true\n")
    assert cli("run", project=project).exit_code == 0
    (project / "drops" / "shop" / "orders_002.csv").write_text(LOST_ORDER)
    held = cli("run", project=project)
    assert held.exit_code == 1
    assert "held back: 1 check(s) warned" in held.stderr and "basin publish --run" in held.stderr
    assert ("2026-01-07", 1) not in published(project, REVENUE)
    run_id = held.stderr.split("basin publish --run ")[1].split("`")[0].strip()
    wrong = cli("publish", "--run", "r-nope", project=project)
    assert wrong.exit_code == 1 and "not the latest build" in wrong.stderr
    accepted = cli("publish", "--run", run_id, project=project)
    assert accepted.exit_code == 0, accepted.output
    assert ("2026-01-07", 1) in published(project, REVENUE)


def test_report_is_offline_html_with_history(cli, project: Path) -> None:
    set_quality(project, "  severity: {staging: warn}\n")
    assert cli("run", project=project).exit_code == 0
    (project / "drops" / "shop" / "orders_002.csv").write_text(LOST_ORDER)
    assert cli("run", project=project).exit_code == 0
    result = cli("check", "--report", "--report-path", str(project / "q.html"), project=project)
    assert result.exit_code == 0, result.output
    page = (project / "q.html").read_text()
    assert (
        page.startswith("<!doctype html>")
        and "stg_shop__orders" in page
        and "daily_revenue" in page
    )
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count("class='h-") >= 4  # two tables × at least two runs of history
    assert "failing row(s)" in page  # the warned check's sample


def test_readers_of_the_published_file_never_fail_during_publishes(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    target = project / ".basin/dev/published/warehouse.duckdb"
    errors: list[Exception] = []
    counts: list[int] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                with duckdb.connect(str(target), read_only=True) as con:
                    counts.append(
                        con.execute("select count(*) from marts.daily_revenue").fetchone()[0]
                    )
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        platform = Platform(load_project(project))
        for _ in range(5):
            platform.publish()
        platform.close()
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:3]
    assert counts and set(counts) == {3}


def test_snapshot_records_its_storage_version(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    [(version, writer)] = published(
        project, "select storage_version, written_by from _basin.publication"
    )
    assert version == "v1.0.0" and writer.startswith("duckdb 1.5")
    platform = Platform(load_project(project))
    step = [
        s for s in platform.store.steps(platform.store.runs(1)[0].run_id) if s.name == "publish"
    ][0]
    assert json.loads(step.detail or "{}")["storage_version"] == "v1.0.0"
    platform.close()
