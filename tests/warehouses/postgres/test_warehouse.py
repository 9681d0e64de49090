"""PostgreSQL as the warehouse: exactly-once loads, atomic schema-swap publish, same marts as DuckDB."""

from __future__ import annotations

import hashlib
import threading
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from basin.common.errors import LoadError
from basin.config import load_project
from basin.pipeline.platform import Platform

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


def add_pg_env(project: Path, db_url: str) -> None:
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "sources:",
            '  prod:\n    warehouse: {engine: postgres, dsn: "${env:WAREHOUSE_DSN}"}\n\nsources:',
            1,
        )
    )
    (project / ".env").write_text(f"WAREHOUSE_DSN={db_url}\n")


def pg(db_url: str, sql: str) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def _normal(value: object) -> str:
    if isinstance(value, float | Decimal):
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def checksum(rows: list[tuple]) -> str:
    h = hashlib.sha256()
    for row in sorted(tuple(_normal(v) for v in r) for r in rows):
        h.update("|".join(row).encode())
    return h.hexdigest()


def test_same_project_on_duckdb_and_postgres_gives_the_same_marts(
    cli, project: Path, pg_database: str
) -> None:
    add_pg_env(project, pg_database)
    assert cli("run", project=project).exit_code == 0
    result = cli("--env", "prod", "run", project=project)
    assert result.exit_code == 0, result.output

    with duckdb.connect(
        str(project / ".basin/dev/published/warehouse.duckdb"), read_only=True
    ) as con:
        duck_rows = con.execute("select * from marts.daily_revenue").fetchall()
    pg_rows = pg(pg_database, "select * from marts.daily_revenue")
    assert len(duck_rows) == len(pg_rows) == 3
    assert checksum(duck_rows) == checksum(pg_rows)
    # Nothing of prod lives in dev's state and the other way round.
    assert not (project / ".basin" / "prod" / "warehouse.duckdb").exists()
    assert (project / ".basin" / "prod" / "metadata.db").exists()
    status = cli("--env", "prod", "status", project=project)
    assert "marts.daily_revenue" in status.stdout and "prod" in status.stdout
    schemas = {r[0] for r in pg(pg_database, "select nspname from pg_namespace")}
    assert {"raw", "_basin", "staging", "marts"} <= schemas and "marts_audit" not in schemas
    # The loaded raw table and the built models were ANALYZEd at once (not left to
    # autovacuum): their statistics exist before anything else queries them.
    analyzed = "select relname from pg_stat_user_tables where last_analyze is not null"
    wanted = {"shop__orders", "daily_revenue"}  # (staging models are views)
    give_up = time.monotonic() + 60
    while not wanted <= {r[0] for r in pg(pg_database, analyzed)}:
        assert time.monotonic() < give_up, pg(pg_database, analyzed)
        time.sleep(0.5)
    # From the second publication on, the audit schema holds the previous one.
    assert cli("--env", "prod", "run", project=project).exit_code == 0
    assert pg(pg_database, "select count(*) from marts_audit.daily_revenue") == [(3,)]


def test_load_is_exactly_once_and_a_failing_batch_leaves_nothing(
    project: Path, pg_database: str
) -> None:
    add_pg_env(project, pg_database)
    platform = Platform(load_project(project, "prod"))
    platform.extract()
    assert [r.rows for r in platform.load()] == [5]
    assert platform.load() == []
    assert pg(pg_database, "select count(*) from raw.shop__orders") == [(5,)]
    # The catalog's row counts: exact before ANALYZE, the planner's number after.
    wh = platform.warehouse
    assert wh.row_counts([("raw", "shop__orders"), ("raw", "missing")]) == {
        ("raw", "shop__orders"): 5
    }
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("analyze raw.shop__orders")
    assert wh.row_counts([("RAW", "Shop__Orders")]) == {("raw", "shop__orders"): 5}
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n9,x@example.org,1.00,paid,2026-02-01 00:00:00\n"
    )
    platform.extract()
    manifest = platform.lake.complete_batches("shop", "orders")[-1]
    import json

    path = Path(platform.lake.batch_dir("shop", "orders", manifest.batch_id)) / "_manifest.json"
    data = json.loads(path.read_text())
    data["row_count"] = 2
    path.write_text(json.dumps(data))
    with pytest.raises(LoadError, match="the manifest says 2"):
        platform.load()
    assert pg(pg_database, "select count(*) from raw.shop__orders") == [(5,)]
    assert pg(pg_database, "select count(*) from _basin.load_ledger") == [(1,)]
    platform.close()


def test_schema_swap_is_atomic_for_a_concurrent_reader(
    cli, project: Path, pg_database: str
) -> None:
    add_pg_env(project, pg_database)
    assert cli("--env", "prod", "run", project=project).exit_code == 0
    seen: list[object] = []
    stop = threading.Event()

    def reader() -> None:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            while not stop.is_set():
                try:
                    n = conn.execute("select count(*) from marts.daily_revenue").fetchone()
                    seen.append(n[0] if n else None)
                except psycopg.Error as exc:
                    seen.append(exc)
                time.sleep(0.002)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for day in range(6, 9):
            (project / "drops" / "shop" / f"orders_{day:03d}.csv").write_text(
                "order_id,customer_email,amount,status,ordered_at\n"
                f"{day * 10},a@example.org,1.00,paid,2026-01-{day:02d} 10:00:00\n"
            )
            assert cli("--env", "prod", "run", project=project).exit_code == 0
    finally:
        stop.set()
        thread.join()
    errors = [s for s in seen if isinstance(s, Exception)]
    assert not errors, errors[:3]
    counts = [s for s in seen if isinstance(s, int)]
    assert counts and set(counts) <= {3, 4, 5, 6} and 0 not in counts
    assert counts == sorted(counts)  # never goes back to an older publication


def test_failed_gate_on_postgres_keeps_the_published_schema(
    cli, project: Path, pg_database: str
) -> None:
    add_pg_env(project, pg_database)
    assert cli("--env", "prod", "run", project=project).exit_code == 0
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n7,t@example.org,99.00,lost,2026-01-07 10:00:00\n"
    )
    result = cli("--env", "prod", "run", project=project)
    assert result.exit_code != 0
    assert pg(pg_database, "select count(*) from marts.daily_revenue") == [(3,)]


def test_indexes_declared_on_a_raw_entity_are_created_and_a_bad_one_is_named(
    cli, project: Path, pg_database: str
) -> None:
    add_pg_env(project, pg_database)
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "        primary_key: [order_id]\n",
            "        primary_key: [order_id]\n"
            "        indexes: [[customer_email], [status, ordered_at]]\n",
            1,
        )
    )
    result = cli("--env", "prod", "run", project=project)
    assert result.exit_code == 0, result.output
    indexes = {
        r[0]: r[1]
        for r in pg(
            pg_database,
            "select indexname, indexdef from pg_indexes where schemaname = 'raw'",
        )
    }
    assert "(customer_email)" in indexes["shop__orders__customer_email_idx"]
    assert "(status, ordered_at)" in indexes["shop__orders__status_ordered_at_idx"]
    # A column the raw table does not have: the run says which, and nothing is lost.
    yml.write_text(yml.read_text().replace("[status, ordered_at]", "[status, shipped_at]"))
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "9001,new@example.org,12.50,paid,2026-02-01 10:00:00\n"
    )
    failed = cli("--env", "prod", "run", project=project)
    assert failed.exit_code != 0
    assert "cannot index raw.shop__orders on (status, shipped_at)" in failed.stderr
    assert "shipped_at" in failed.stderr and "indexes:" in failed.stderr
    assert pg(pg_database, "select count(*) from raw.shop__orders where order_id = 9001") == [(1,)]


def test_a_full_reload_on_postgres_does_not_grow_the_raw_table(
    cli, project: Path, pg_database: str
) -> None:
    """A replace batch empties the raw table with TRUNCATE, not DELETE: the old rows
    leave no dead tuples behind (a DELETE doubled the table at every reload)."""
    add_pg_env(project, pg_database)
    lines = ["order_id,customer_email,amount,status,ordered_at"] + [
        f"{i},c{i % 500}@example.org,{i % 97}.50,paid,2026-01-0{1 + i % 9} 10:00:00"
        for i in range(100, 20_100)
    ]
    (project / "drops" / "shop" / "orders_big.csv").write_text("\n".join(lines) + "\n")
    assert cli("--env", "prod", "run", project=project).exit_code == 0

    def size_and_rows() -> tuple[int, int]:
        [(size, rows)] = pg(
            pg_database,
            "select pg_total_relation_size('raw.shop__orders'), count(*) from raw.shop__orders",
        )
        return size, rows

    first = size_and_rows()
    for _ in range(3):
        refreshed = cli(
            "--env", "prod", "extract", "--select", "shop.orders", "--full-refresh", project=project
        )
        assert refreshed.exit_code == 0, refreshed.output
        assert cli("--env", "prod", "load", project=project).exit_code == 0
    size, rows = size_and_rows()
    assert rows == first[1] == 20_005  # and the sample file's 5
    assert size <= first[0] * 1.1, (first, size)


def test_doctor_names_a_missing_warehouse_database_and_how_to_create_it(
    cli, project: Path, pg_url: str
) -> None:
    import uuid

    name = f"basin_missing_{uuid.uuid4().hex[:8]}"
    add_pg_env(project, pg_url.rsplit("/", 1)[0] + f"/{name}")
    result = cli("--env", "prod", "doctor", project=project)
    assert result.exit_code != 0
    assert f"database '{name}' does not exist on 127.0.0.1:5432" in result.output
    assert f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}" in result.output
    assert not pg(pg_url, f"select 1 from pg_database where datname = '{name}'")


def test_each_steps_queries_carry_the_run_and_step_and_their_workloads_settings(
    cli, project: Path, pg_database: str
) -> None:
    """The server itself records who ran each DDL, and with which settings (an event
    trigger reading application_name, work_mem and statement_timeout): load, dbt's
    build and the publication, each with the run id and its workload's settings."""
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(
            """
            create table public.ddl_log (app text, command text, work_mem text, timeout text);
            create function public.log_ddl() returns event_trigger language plpgsql as $$
            begin
              insert into public.ddl_log values (current_setting('application_name'), tg_tag,
                current_setting('work_mem'), current_setting('statement_timeout'));
            end $$;
            create event trigger basin_probe on ddl_command_end execute function public.log_ddl();
            """
        )
    try:
        add_pg_env(project, pg_database)
        yml = project / "basin.yml"
        yml.write_text(
            yml.read_text().replace(
                'dsn: "${env:WAREHOUSE_DSN}"}',
                'dsn: "${env:WAREHOUSE_DSN}", workloads: {'
                "load: {work_mem: 8MB, statement_timeout: 10min}, "
                "transform: {work_mem: 96MB, statement_timeout: 20min, lock_timeout: 1min}}}",
            )
        )
        result = cli("--env", "prod", "run", project=project)
        assert result.exit_code == 0, result.output
        [(run_id,)] = pg(pg_database, "select run_id from _basin.publications")
        seen = {
            (app, work_mem, timeout)
            for app, work_mem, timeout in pg(
                pg_database, "select distinct app, work_mem, timeout from public.ddl_log"
            )
        }
        assert (f"basin/prod/load/{run_id}", "8MB", "10min") in seen, seen
        assert (f"basin/prod/transform/{run_id}", "96MB", "20min") in seen, seen
        assert (f"basin/prod/publish/{run_id}", "96MB", "20min") in seen, seen
        # Nothing of the run ran with the server's defaults.
        assert {(w, t) for a, w, t in seen if a.startswith("basin/")} <= {
            ("8MB", "10min"),
            ("96MB", "20min"),
        }
    finally:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute("drop event trigger if exists basin_probe")


def test_a_workload_setting_that_is_not_a_size_or_duration_is_refused(cli, project: Path) -> None:
    add_pg_env(project, "postgresql://postgres@127.0.0.1/x")
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            'dsn: "${env:WAREHOUSE_DSN}"}',
            'dsn: "${env:WAREHOUSE_DSN}", workloads: {load: {work_mem: "1GB -c role=postgres"}}}',
        )
    )
    result = cli("--env", "prod", "status", project=project)
    assert result.exit_code != 0
    assert "workloads.load.work_mem" in result.output
