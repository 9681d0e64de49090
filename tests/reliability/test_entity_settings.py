"""Defect 4: changing how an entity is extracted never silently mixes two kinds of
rows. A change of mode, cursor, primary key or table is refused by name until the
entity is re-baselined with --full-refresh, which replaces its raw table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

YML = """
project: lite
sources:
  ops:
    kind: sqlite
    path: ops.db
    tables:
      orders: {table: orders}
"""


def _raw(project: Path) -> list[tuple]:
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        return con.execute("select order_id from raw.ops__orders order by 1").fetchall()


def test_switching_full_to_incremental_is_refused_then_rebaselined(cli, tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "ops.db")
    db.execute("create table orders (order_id integer, updated_at text)")
    db.executemany(
        "insert into orders values (?, ?)", [(1, "2026-01-01 10:00"), (2, "2026-01-01 11:00")]
    )
    db.commit()
    yml = tmp_path / "basin.yml"
    yml.write_text(YML)
    assert cli("extract", project=tmp_path).exit_code == 0
    assert cli("load", project=tmp_path).exit_code == 0
    assert _raw(tmp_path) == [(1,), (2,)]

    yml.write_text(YML.replace("{table: orders}", "{table: orders, cursor: updated_at}"))
    refused = cli("extract", project=tmp_path)
    assert refused.exit_code != 0
    assert "ops.orders: its extraction settings changed" in refused.stderr
    assert (
        "cursor None → 'updated_at'" in refused.stderr
        and "mode 'full' → 'incremental'" in refused.stderr
    )
    assert "basin extract --select ops.orders --full-refresh" in refused.stderr
    assert cli("load", project=tmp_path).exit_code == 0
    assert _raw(tmp_path) == [(1,), (2,)]  # no second copy

    assert (
        cli("extract", "--select", "ops.orders", "--full-refresh", project=tmp_path).exit_code == 0
    )
    assert cli("load", project=tmp_path).exit_code == 0
    assert _raw(tmp_path) == [(1,), (2,)]
    # From now on it is incremental: nothing new, nothing appended.
    assert cli("extract", project=tmp_path).exit_code == 0
    assert cli("load", project=tmp_path).exit_code == 0
    assert _raw(tmp_path) == [(1,), (2,)]


def test_a_changed_primary_key_is_refused(cli, tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "ops.db")
    db.execute("create table orders (order_id integer, updated_at text)")
    db.execute("insert into orders values (1, '2026-01-01')")
    db.commit()
    yml = tmp_path / "basin.yml"
    yml.write_text(YML.replace("{table: orders}", "{table: orders, primary_key: [order_id]}"))
    assert cli("extract", project=tmp_path).exit_code == 0
    yml.write_text(YML.replace("{table: orders}", "{table: orders, primary_key: [updated_at]}"))
    refused = cli("run", project=tmp_path)
    assert refused.exit_code != 0 and "primary_key ['order_id'] → ['updated_at']" in refused.stderr
