"""Defect 8: a full extraction is the source's state, even when it is empty.

A full-mode table that becomes empty at the source empties its raw table; a table
that starts empty gets an empty raw table with the right columns.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from basin.config import load_project
from basin.pipeline.platform import Platform

YML = """
project: lite
sources:
  ops:
    kind: sqlite
    path: ops.db
    tables:
      orders: {table: orders}
      returns: {table: returns}
"""


def _raw(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_full_mode_follows_the_source_down_to_empty(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "ops.db")
    db.execute("create table orders (order_id integer, amount real)")
    db.execute("create table returns (return_id integer, reason text)")  # starts empty
    db.executemany("insert into orders values (?, ?)", [(1, 10.0), (2, 20.0)])
    db.commit()
    (tmp_path / "basin.yml").write_text(YML)
    platform = Platform(load_project(tmp_path))
    platform.extract()
    platform.load()
    assert _raw(tmp_path, "select count(*) from raw.ops__orders") == [(2,)]
    # The empty table has a raw table, with its columns.
    assert _raw(tmp_path, "select count(*) from raw.ops__returns") == [(0,)]
    columns = _raw(
        tmp_path,
        "select column_name from information_schema.columns where table_name = 'ops__returns' "
        "and column_name not like '\\_basin%' escape '\\' order by ordinal_position",
    )
    assert columns == [("return_id",), ("reason",)]

    db.execute("delete from orders")
    db.commit()
    [orders] = platform.extract(["ops.orders"])
    assert orders.batch_id is not None and orders.rows == 0
    platform.load()
    assert _raw(tmp_path, "select count(*) from raw.ops__orders") == [(0,)]
    platform.close()


@pytest.mark.postgres
def test_full_mode_postgres_table_emptied(tmp_path: Path, pg_url: str, pg_schema: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'create table "{pg_schema}".items (item_id int, name text)')
        conn.execute(f"insert into \"{pg_schema}\".items values (1, 'a')")
    (tmp_path / "basin.yml").write_text(
        f"""
project: pgfull
sources:
  shop:
    kind: postgres
    dsn: "{pg_url}"
    schema: {pg_schema}
    tables:
      items: {{table: items}}
"""
    )
    platform = Platform(load_project(tmp_path))
    platform.extract()
    platform.load()
    assert _raw(tmp_path, "select count(*) from raw.shop__items") == [(1,)]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'delete from "{pg_schema}".items')
    platform.extract()
    platform.load()
    assert _raw(tmp_path, "select count(*) from raw.shop__items") == [(0,)]
    platform.close()
