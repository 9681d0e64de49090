"""Lake → DuckDB raw: exactly once, atomic per batch, additive schema evolution."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from basin.common.errors import LoadError
from basin.config import load_project
from basin.pipeline.platform import Platform

BASIN_YML = """
project: loads
sources:
  crm:
    kind: files
    path: drops
    entities:
      customers: {glob: "customers_*.csv"}
"""


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    (tmp_path / "basin.yml").write_text(BASIN_YML)
    (tmp_path / "drops").mkdir()
    p = Platform(load_project(tmp_path))
    yield p
    p.close()


def drop(platform: Platform, name: str, text: str) -> None:
    (platform.project.root / "drops" / name).write_text(text)


def raw(platform: Platform, sql: str = "select count(*) from raw.crm__customers") -> list[tuple]:
    with duckdb.connect(str(platform.warehouse.path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_each_batch_is_loaded_exactly_once(platform: Platform) -> None:
    drop(platform, "customers_1.csv", "id,name\n1,ada\n2,grace\n")
    platform.extract()
    assert [r.rows for r in platform.load()] == [2]
    assert platform.load() == []  # nothing new
    drop(platform, "customers_2.csv", "id,name\n3,alan\n")
    platform.extract()
    assert [r.rows for r in platform.load()] == [1]
    assert raw(platform) == [(3,)]
    ledger = raw(platform, "select count(*), sum(rows) from _basin.load_ledger")
    assert ledger == [(2, 3)]
    with platform.store.session() as s:
        from basin.metadata.models import Load

        assert sorted(row.rows for row in s.query(Load)) == [1, 2]


def test_a_batch_without_manifest_is_never_loaded(platform: Platform) -> None:
    drop(platform, "customers_1.csv", "id,name\n1,ada\n")
    platform.extract()
    # A half-written batch: data file present, manifest missing (writer died).
    orphan = Path(platform.lake.batch_dir("crm", "customers", "20990101T000000000000Z-dead00"))
    orphan.mkdir(parents=True)
    duckdb.sql(
        f"copy (select 99 as id, 'ghost' as name) to '{orphan / 'part-00000.parquet'}' (format parquet)"
    )
    platform.load()
    assert raw(platform, "select id from raw.crm__customers order by id") == [(1,)]


def test_new_columns_are_added_and_old_rows_get_null(platform: Platform) -> None:
    drop(platform, "customers_1.csv", "id,name\n1,ada\n")
    platform.extract()
    platform.load()
    drop(platform, "customers_2.csv", "id,name,country\n2,grace,US\n")
    platform.extract()
    platform.load()
    assert raw(platform, "select id, name, country from raw.crm__customers order by id") == [
        (1, "ada", None),
        (2, "grace", "US"),
    ]


def test_a_failing_load_leaves_nothing_of_the_batch(platform: Platform) -> None:
    drop(platform, "customers_1.csv", "id,name\n1,ada\n")
    platform.extract()
    platform.load()
    drop(platform, "customers_2.csv", "id,name\n2,grace\n3,alan\n")
    platform.extract()
    # Make the second batch's manifest disagree with its data: the load must roll back.
    manifest = platform.lake.complete_batches("crm", "customers")[-1]
    path = Path(platform.lake.batch_dir("crm", "customers", manifest.batch_id)) / "_manifest.json"
    data = json.loads(path.read_text())
    data["row_count"] = 5
    path.write_text(json.dumps(data))
    with pytest.raises(LoadError, match="read 2 rows, the manifest says 5"):
        platform.load()
    assert raw(platform) == [(1,)]
    assert raw(platform, "select count(*) from _basin.load_ledger") == [(1,)]
    run = platform.store.runs(1)[0]
    assert run.status == "failed" and "manifest says 5" in (run.error or "")


def test_a_changed_data_file_is_refused(platform: Platform) -> None:
    drop(platform, "customers_1.csv", "id,name\n1,ada\n")
    platform.extract()
    manifest = platform.lake.complete_batches("crm", "customers")[0]
    part = (
        Path(platform.lake.batch_dir("crm", "customers", manifest.batch_id)) / "part-00000.parquet"
    )
    part.write_bytes(part.read_bytes() + b"junk")
    with pytest.raises(LoadError, match="the manifest says"):
        platform.load()
    assert not platform.warehouse.path.exists() or raw(
        platform,
        "select count(*) from information_schema.tables where table_name = 'crm__customers'",
    ) == [(0,)]


def test_replaying_from_the_lake_after_losing_the_warehouse(platform: Platform) -> None:
    drop(platform, "customers_1.csv", "id,name\n1,ada\n2,grace\n")
    platform.extract()
    platform.load()
    platform.warehouse.path.unlink()
    assert [r.rows for r in platform.load()] == [2]  # the lake is the source of truth
    assert raw(platform) == [(2,)]


def test_memory_limit_reaches_the_warehouse_and_dbt(tmp_path: Path) -> None:
    """basin.yml's memory_limit is what DuckDB runs with, in Basin's connections and in
    dbt's profile (a wrong amount is refused when basin.yml is read: tests/config)."""
    (tmp_path / "basin.yml").write_text(
        BASIN_YML + "environments:\n  dev:\n    warehouse: {engine: duckdb, memory_limit: 512MiB}\n"
    )
    p = Platform(load_project(tmp_path))
    try:
        with p.warehouse.connect() as con:
            [(limit,)] = con.execute("select current_setting('memory_limit')").fetchall()
        assert limit == "512.0 MiB"
        assert p.warehouse.dbt_target()["settings"]["memory_limit"] == "512MiB"
    finally:
        p.close()
