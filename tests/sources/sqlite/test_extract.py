"""SQLite sources: full tables, incremental text cursors, queries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb

from basin.config import load_project
from basin.pipeline.platform import Platform


def make(tmp_path: Path) -> tuple[Platform, sqlite3.Connection]:
    db = sqlite3.connect(tmp_path / "ops.db")
    db.execute(
        "create table orders (order_id integer primary key, status text, amount real, updated_at text)"
    )
    db.executemany(
        "insert into orders values (?, ?, ?, ?)",
        [(1, "new", 10.0, "2026-01-01 10:00:00"), (2, "paid", 20.5, "2026-01-01 11:00:00")],
    )
    db.commit()
    (tmp_path / "basin.yml").write_text(
        """
project: lite
sources:
  ops:
    kind: sqlite
    path: ops.db
    tables:
      orders: {cursor: updated_at, overlap: 1 hour, primary_key: [order_id]}
      order_snapshot: {table: orders}
      paid: {query: "select order_id, amount from orders where status = 'paid'"}
"""
    )
    return Platform(load_project(tmp_path)), db


def rows(platform: Platform, entity: str, columns: str) -> list[tuple]:
    files = [
        f
        for m in platform.lake.complete_batches("ops", entity)
        for f in platform.lake.data_files(m)
    ]
    return duckdb.sql(
        f"select {columns} from read_parquet({files!r}, union_by_name = true, hive_partitioning = false) order by all"
    ).fetchall()


def test_sqlite_full_incremental_and_query(tmp_path: Path) -> None:
    platform, db = make(tmp_path)
    results = {r.entity: r.rows for r in platform.extract()}
    assert results == {"orders": 2, "order_snapshot": 2, "paid": 1}
    assert rows(platform, "paid", "order_id, amount") == [(2, 20.5)]

    db.execute(
        "update orders set status = 'paid', updated_at = '2026-01-01 12:00:00' where order_id = 1"
    )
    db.execute(
        "insert into orders values (3, 'new', 5.0, '2026-01-01 10:30:00')"
    )  # late, inside overlap
    db.commit()
    results = {r.entity: r.rows for r in platform.extract(["ops.orders"])}
    assert results == {"orders": 2}
    assert rows(platform, "orders", "order_id, status") == [
        (1, "new"),
        (1, "paid"),
        (2, "paid"),
        (3, "new"),
    ]
    assert platform.extract(["ops.orders"])[0].batch_id is None


def test_missing_database_file_is_named(tmp_path: Path) -> None:
    platform, _ = make(tmp_path)
    (tmp_path / "ops.db").unlink()
    import pytest

    from basin.common.errors import ExtractError

    with pytest.raises(ExtractError, match=r"SQLite database .*ops.db does not exist"):
        platform.extract(["ops.orders"])
