"""Schema contracts: which type changes widen (the batch lands, the contract records a
new version) and which break (the batch is quarantined)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tests.conftest import ENGINES

from basin.config import load_project
from basin.lake.contract import compare, is_widening, merged
from basin.pipeline.platform import Platform


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("INTEGER", "BIGINT"),
        ("TINYINT", "HUGEINT"),
        ("UTINYINT", "UBIGINT"),
        ("FLOAT", "DOUBLE"),
        ("INTEGER", "DOUBLE"),
        ("DATE", "TIMESTAMP"),
        ("DECIMAL(10,2)", "DECIMAL(12,2)"),
        ("DECIMAL(10,2)", "DECIMAL(11,3)"),
        ("INTEGER", "DECIMAL(12,2)"),
        ('"NULL"', "VARCHAR"),  # a column seen only empty takes its first real type
        ("varchar", "VARCHAR"),
    ],
)
def test_widening(old: str, new: str) -> None:
    assert is_widening(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("BIGINT", "INTEGER"),
        ("BIGINT", "DOUBLE"),  # above 2**53 a double is not exact
        ("INTEGER", "UINTEGER"),  # negatives
        ("DECIMAL(12,2)", "DECIMAL(12,3)"),  # one integer digit fewer
        ("DECIMAL(10,2)", "DECIMAL(12,1)"),  # a decimal digit fewer
        ("BIGINT", "DECIMAL(18,0)"),  # 19 digits needed
        ("TIMESTAMP", "DATE"),
        ("INTEGER", "VARCHAR"),
        ("DOUBLE", "FLOAT"),
    ],
)
def test_not_widening(old: str, new: str) -> None:
    assert not is_widening(old, new)


def test_compare_and_merge_keep_order_and_ignore_basin_columns() -> None:
    accepted = [{"name": "id", "type": "INTEGER"}, {"name": "amount", "type": "DECIMAL(10,2)"}]
    batch = [
        {"name": "amount", "type": "DECIMAL(12,2)"},
        {"name": "id", "type": "BIGINT"},
        {"name": "note", "type": "VARCHAR"},
        {"name": "_basin_batch_id", "type": "VARCHAR"},
    ]
    diff = compare(accepted, batch)
    assert not diff.breaking and diff.evolved
    assert diff.widened == [
        ("id", "INTEGER", "BIGINT"),
        ("amount", "DECIMAL(10,2)", "DECIMAL(12,2)"),
    ]
    assert diff.added == [("note", "VARCHAR")]
    assert merged(accepted, batch[:3]) == [
        {"name": "id", "type": "BIGINT"},
        {"name": "amount", "type": "DECIMAL(12,2)"},
        {"name": "note", "type": "VARCHAR"},
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ENGINES)
def test_a_widened_column_lands_and_the_raw_table_follows(
    tmp_path: Path, pg_url: str, pg_schema: str, engine: str, request: pytest.FixtureRequest
) -> None:
    """int → bigint at the source: the batch is not quarantined, the contract records
    the widening, and a value only the wider type holds reaches the raw table."""
    from tests.sources.postgres.test_extract import make_platform, pg

    pg(pg_url, f"create table {pg_schema}.payments (id int primary key, cents int)")
    pg(pg_url, f"insert into {pg_schema}.payments values (1, 100)")
    platform = make_platform(tmp_path, pg_url, pg_schema, "      payments: {primary_key: [id]}")
    if engine == "postgres":
        database = request.getfixturevalue("pg_database")
        yml = tmp_path / "basin.yml"
        yml.write_text(
            yml.read_text()
            + f'environments:\n  dev:\n    warehouse: {{engine: postgres, dsn: "{database}"}}\n'
        )
        platform = Platform(load_project(tmp_path))
    platform.extract()
    platform.load()
    pg(pg_url, f"alter table {pg_schema}.payments alter column cents type bigint")
    pg(pg_url, f"insert into {pg_schema}.payments values (2, 9000000000)")
    platform.extract()
    platform.load()
    history = platform.store.schema_history("fin", "payments")
    assert [h.change for h in history] == [
        "initial schema",
        "column cents widened from INTEGER to BIGINT",
    ]
    assert platform.store.incidents(open_only=True) == []
    sql = "select id, cents from raw.fin__payments order by id"
    if engine == "postgres":
        rows = pg(database, sql)
    else:
        with duckdb.connect(str(platform.warehouse.path), read_only=True) as con:
            rows = con.execute(sql).fetchall()
    platform.close()
    assert rows == [(1, 100), (2, 9000000000)]
