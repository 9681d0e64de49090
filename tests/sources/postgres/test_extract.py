"""PostgreSQL sources against the local server: lossless types, incremental overlap,
full snapshots, backfills, contracts and a kill -9 in the middle of a batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from basin.common.errors import ExtractError
from basin.config import load_project
from basin.pipeline.platform import Platform

pytestmark = pytest.mark.postgres


def make_platform(root: Path, pg_url: str, schema: str, tables: str) -> Platform:
    (root / "basin.yml").write_text(
        f"""
project: pgsrc
sources:
  fin:
    kind: postgres
    dsn: "${{env:FIN_DSN}}"
    schema: {schema}
    tables:
{tables}
"""
    )
    (root / ".env").write_text(f"FIN_DSN={pg_url}\n")
    return Platform(load_project(root))


def pg(pg_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        cur = conn.execute(sql, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def lake(platform: Platform, entity: str, columns: str = "*") -> list[tuple]:
    files = [
        f
        for m in platform.lake.complete_batches("fin", entity)
        for f in platform.lake.data_files(m)
    ]
    if not files:
        return []
    return duckdb.sql(
        f"select {columns} from read_parquet({files!r}, union_by_name = true, hive_partitioning = false) order by 1"
    ).fetchall()


TYPES_DDL = """
create table {s}.every_type (
    id int primary key, small smallint, big bigint, num numeric(12, 2), num_free numeric,
    num_huge numeric(40, 5), money_col money, real_col real, dbl double precision, txt text,
    vchar varchar(10), flag boolean, day date, ts timestamp, tstz timestamptz, uid uuid, js json,
    jsb jsonb, ints int[], texts text[], bin bytea, span interval, clock time
)
"""


def test_every_common_type_round_trips_losslessly(
    tmp_path: Path, pg_url: str, pg_schema: str
) -> None:
    pg(pg_url, TYPES_DDL.format(s=pg_schema))
    pg(
        pg_url,
        f"""insert into {pg_schema}.every_type values
        (1, -32768, 9223372036854775807, -1234567890.12, 3.14159265358979323846264338327950288419716939937510,
         123456789012345678901234567890123.12345, 1234.56, 1.5, 2.25, 'héllo ✓ "quoted"', 'x', true,
         '2026-01-02', '2026-01-02 03:04:05.123456', '2026-01-02 03:04:05.123456+02',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{"a": [1, 2.5, "x"]}}', '{{"b": {{"c": null}}}}',
         '{{1,NULL,3}}', '{{"a","b c"}}', '\\x00deadbeef00', '1 day 02:03:04', '12:34:56.5'),
        (2, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
         null, null, null, null, null, null, null, null)""",
    )
    platform = make_platform(tmp_path, pg_url, pg_schema, "      every_type: {primary_key: [id]}")
    [result] = platform.extract()
    assert result.rows == 2
    got = lake(platform, "every_type", "* exclude (_basin_batch_id, _basin_extracted_at)")
    with psycopg.connect(pg_url) as conn:
        cur = conn.execute(
            f"select *, money_col::numeric as money_num from {pg_schema}.every_type order by id"
        )
        names = [c.name for c in cur.description]
        want = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    columns = [c["name"] for c in platform.lake.complete_batches("fin", "every_type")[0].columns][
        :-2
    ]
    assert columns == names[:-1]
    for lake_row, pg_row in zip(got, want, strict=True):
        row = dict(zip(columns, lake_row, strict=True))
        for name in columns:
            value, expected = row[name], pg_row[name]
            if expected is None:
                assert value is None, name
            elif name in ("num_free", "num_huge"):
                assert Decimal(value) == expected, name  # exact digits, as text
            elif name == "money_col":
                assert value == pg_row["money_num"], name  # a DECIMAL, not '$1,234.56'
            elif name == "span":
                assert value == "1 day 02:03:04", name  # DuckDB's text: casts back exactly
            elif name in ("js", "jsb"):
                assert json.loads(value) == expected, name
            else:
                assert value == expected, name


def test_incremental_catches_a_late_row_inside_the_overlap(
    tmp_path: Path, pg_url: str, pg_schema: str
) -> None:
    pg(
        pg_url,
        f"create table {pg_schema}.events (id int primary key, kind text, updated_at timestamptz)",
    )
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    for i in range(1, 6):
        pg(
            pg_url,
            f"insert into {pg_schema}.events values (%s, 'a', %s)",
            (i, t0 + timedelta(minutes=i)),
        )
    platform = make_platform(
        tmp_path,
        pg_url,
        pg_schema,
        "      events: {cursor: updated_at, overlap: 10 minutes, primary_key: [id]}",
    )
    assert platform.extract()[0].rows == 5
    mark = json.loads(platform.store.watermark("fin", "events") or "{}")
    assert datetime.fromisoformat(mark["value"]) == t0 + timedelta(minutes=5)

    # A transaction that started earlier commits now: its cursor is older than the
    # watermark, but inside the 10-minute overlap. Plus one ordinary new row.
    pg(
        pg_url,
        f"insert into {pg_schema}.events values (6, 'late', %s)",
        (t0 + timedelta(minutes=2),),
    )
    pg(
        pg_url,
        f"insert into {pg_schema}.events values (7, 'new', %s)",
        (t0 + timedelta(minutes=7),),
    )
    [second] = platform.extract()
    assert second.rows == 2  # rows read again by the overlap, unchanged, are dropped
    batch = platform.lake.complete_batches("fin", "events")[-1]
    ids = duckdb.sql(
        f"select id from read_parquet({platform.lake.data_files(batch)!r}, hive_partitioning = false) order by id"
    ).fetchall()
    assert ids == [(6,), (7,)]
    # An updated row comes again; a run with nothing new writes no batch.
    pg(
        pg_url,
        f"update {pg_schema}.events set kind = 'b', updated_at = %s where id = 1",
        (t0 + timedelta(minutes=8),),
    )
    assert platform.extract()[0].rows == 1
    assert platform.extract()[0].batch_id is None
    assert sorted(r[0] for r in lake(platform, "events", "id")) == [1, 1, 2, 3, 4, 5, 6, 7]


def test_full_mode_snapshot_replaces_the_raw_table(
    tmp_path: Path, pg_url: str, pg_schema: str
) -> None:
    pg(pg_url, f"create table {pg_schema}.products (id int primary key, name text)")
    pg(pg_url, f"insert into {pg_schema}.products values (1, 'a'), (2, 'b'), (3, 'c')")
    platform = make_platform(tmp_path, pg_url, pg_schema, "      products: {primary_key: [id]}")
    platform.extract()
    platform.load()
    pg(pg_url, f"delete from {pg_schema}.products where id = 2")
    platform.extract()
    platform.load()
    with duckdb.connect(str(platform.warehouse.path), read_only=True) as con:
        assert con.execute("select id from raw.fin__products order by id").fetchall() == [
            (1,),
            (3,),
        ]


def test_query_entity_and_column_subset(tmp_path: Path, pg_url: str, pg_schema: str) -> None:
    pg(pg_url, f"create table {pg_schema}.orders (id int, amount numeric(10,2), secret text)")
    pg(pg_url, f"insert into {pg_schema}.orders values (1, 10.50, 'x'), (2, 99.99, 'y')")
    tables = (
        f"      big_orders: {{query: 'select id, amount from {pg_schema}.orders where amount > 50'}}\n"
        "      orders_public: {table: orders, columns: [id, amount]}"
    )
    platform = make_platform(tmp_path, pg_url, pg_schema, tables)
    platform.extract()
    assert lake(platform, "big_orders", "id, amount") == [(2, Decimal("99.99"))]
    assert lake(platform, "orders_public", "* exclude (_basin_batch_id, _basin_extracted_at)") == [
        (1, Decimal("10.50")),
        (2, Decimal("99.99")),
    ]


def test_full_refresh_and_since_touch_only_the_selected_entity(
    tmp_path: Path, pg_url: str, pg_schema: str
) -> None:
    for name in ("a", "b"):
        pg(pg_url, f"create table {pg_schema}.{name} (id int, updated_at date)")
        pg(pg_url, f"insert into {pg_schema}.{name} values (1, '2026-01-01'), (2, '2026-02-01')")
    platform = make_platform(
        tmp_path, pg_url, pg_schema, "      a: {cursor: updated_at}\n      b: {cursor: updated_at}"
    )
    platform.extract()
    mark_b = platform.store.watermark("fin", "b")
    [refreshed] = platform.extract(["fin.a"], full_refresh=True)
    assert refreshed.rows == 2
    assert platform.lake.complete_batches("fin", "a")[-1].load_mode == "replace"
    assert platform.store.watermark("fin", "b") == mark_b
    assert len(platform.lake.complete_batches("fin", "b")) == 1
    [backfill] = platform.extract(["fin.b"], since="2026-01-15")
    assert backfill.rows == 1
    assert platform.store.watermark("fin", "b") == mark_b  # never moves backwards
    with pytest.raises(ExtractError, match="--full-refresh needs --select"):
        platform.extract(full_refresh=True)


def test_breaking_change_quarantines_the_batch_and_opens_an_incident(
    tmp_path: Path, pg_url: str, pg_schema: str
) -> None:
    pg(pg_url, f"create table {pg_schema}.customers (id bigint, name text, score int)")
    pg(pg_url, f"insert into {pg_schema}.customers values (1, 'ada', 5)")
    platform = make_platform(tmp_path, pg_url, pg_schema, "      customers: {primary_key: [id]}")
    platform.extract()
    mark = platform.store.watermark("fin", "customers")

    # Additive: a new nullable column evolves the contract and is recorded.
    pg(pg_url, f"alter table {pg_schema}.customers add column country text")
    platform.extract()
    history = platform.store.schema_history("fin", "customers")
    assert [h.change for h in history] == ["initial schema", "new column country VARCHAR"]

    # Breaking: a dropped column and a narrowed type.
    pg(pg_url, f"alter table {pg_schema}.customers drop column name")
    pg(pg_url, f"alter table {pg_schema}.customers alter column id type int")
    with pytest.raises(ExtractError) as info:
        platform.extract()
    message = info.value.message
    assert "dropped column name (was VARCHAR)" in message
    assert "column id changed from BIGINT to INTEGER" in message
    [quarantined] = platform.store.batches("fin", "customers", status="quarantined")
    folder = Path(platform.lake.quarantine_dir("fin", "customers", quarantined.batch_id))
    assert (folder / "_contract.json").exists() and (folder / "part-00000.parquet").exists()
    assert len(platform.lake.complete_batches("fin", "customers")) == 2  # nothing new is loadable
    assert platform.store.watermark("fin", "customers") == mark
    [incident] = platform.store.incidents(open_only=True)
    assert incident.kind == "schema_breaking" and "dropped column name" in incident.message

    # Same break again: the open incident counts it, no duplicate.
    with pytest.raises(ExtractError):
        platform.extract()
    [incident] = platform.store.incidents(open_only=True)
    assert incident.occurrences == 2

    # Accepting the new schema: a full refresh of that entity. The incident closes.
    platform.extract(["fin.customers"], full_refresh=True)
    assert platform.store.incidents(open_only=True) == []


def test_kill_9_during_extraction_leaves_no_partial_batch(
    tmp_path: Path, pg_url: str, pg_schema: str
) -> None:
    pg(
        pg_url,
        f"create table {pg_schema}.big as select g as id, md5(g::text) as payload from generate_series(1, 1500000) g",
    )
    platform = make_platform(tmp_path, pg_url, pg_schema, "      big: {}")
    platform.close()
    basin = Path(sys.executable).parent / "basin"
    env = {**os.environ, "FIN_DSN": pg_url}
    proc = subprocess.Popen([str(basin), "--project", str(tmp_path), "extract"], env=env)
    staging = tmp_path / ".basin" / "dev" / "tmp"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(staging.glob("fin.big.*/part-*.parquet")):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    platform = make_platform(tmp_path, pg_url, pg_schema, "      big: {}")
    assert platform.lake.complete_batches("fin", "big") == []  # nothing half-written is visible
    [result] = platform.extract()
    assert result.rows == 1_500_000
    assert [b.status for b in platform.store.batches("fin", "big")] in (
        ["abandoned", "complete"],
        ["complete"],
    )
    platform.load()
    with duckdb.connect(str(platform.warehouse.path), read_only=True) as con:
        assert con.execute("select count(*), count(distinct id) from raw.fin__big").fetchone() == (
            1_500_000,
            1_500_000,
        )
