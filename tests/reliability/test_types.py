"""Defect 10 (in part): PostgreSQL values Parquet cannot hold as they are still land,
losslessly. Negative or sub-millisecond intervals and a time with its offset land as
DuckDB's text for them, which casts back exactly; money lands as a DECIMAL; arrays of
two or three dimensions land as nested lists, and a column whose rows differ in
dimensions as JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from basin.config import load_project
from basin.pipeline.platform import Platform

pytestmark = pytest.mark.postgres


def _extract_and_load(root: Path, pg_url: str, schema: str, table: str, *, rows: int) -> None:
    """One PostgreSQL table through extract and load into the default DuckDB warehouse."""
    (root / "basin.yml").write_text(
        f"""
project: types
sources:
  pg:
    kind: postgres
    dsn: "{pg_url}"
    schema: {schema}
    tables:
      {table}: {{primary_key: [id]}}
"""
    )
    platform = Platform(load_project(root))
    [result] = platform.extract()
    assert result.rows == rows
    platform.load()
    platform.close()


def test_intervals_timetz_and_money_round_trip(tmp_path: Path, pg_url: str, pg_schema: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            f'create table "{pg_schema}".spans (id int, span interval, starts timetz, cost money)'
        )
        conn.execute(
            f"""insert into "{pg_schema}".spans values
            (1, '-1 year 2 mons -3 days', '09:30:00.25+02', '-1234.56'),
            (2, '1 day -01:00:00.000001', '17:00:00-05:30', '92233720368547758.07'),
            (3, '00:00:00.123456', '00:00:00+00', '0')"""
        )
    _extract_and_load(tmp_path, pg_url, pg_schema, "spans", rows=3)
    with duckdb.connect(str(tmp_path / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        got = con.execute(
            "select id, span::interval, starts::timetz::varchar, cost from raw.pg__spans order by id"
        ).fetchall()
    with psycopg.connect(pg_url) as conn:
        want = conn.execute(
            f'select id, span, starts, cost::numeric from "{pg_schema}".spans order by id'
        ).fetchall()
    for (gid, gspan, gstarts, gcost), (wid, wspan, wstarts, wcost) in zip(got, want, strict=True):
        assert gid == wid
        assert gspan == wspan  # both as timedelta: sign and microseconds kept
        assert gstarts.startswith(wstarts.strftime("%H:%M:%S"))
        offset = wstarts.utcoffset()
        assert offset is not None
        minutes = int(offset.total_seconds() // 60)
        sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
        shown = f"{sign}{minutes // 60:02d}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
        assert gstarts.endswith(shown), (gstarts, shown)  # the offset kept, not made UTC
        assert isinstance(gcost, Decimal) and gcost == wcost


def test_multi_dimensional_arrays_land_as_nested_lists(
    tmp_path: Path, pg_url: str, pg_schema: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # PostgreSQL's column type says int[] whatever the dimensions of the values.
        conn.execute(
            f'create table "{pg_schema}".grids (id int, flat int[], grid int[], '
            f"cube text[], mixed int[], declared int[][], stamps timestamp[])"
        )
        conn.execute(
            f"""insert into "{pg_schema}".grids values
            (1, '{{1,2}}', '{{{{1,2}},{{3,NULL}}}}', '{{{{{{"a b",c}}}}}}', '{{{{1}}}}',
             '{{{{7}}}}', '{{{{"2026-01-02 03:04:05"}}}}'),
            (2, NULL, '{{{{5,6}}}}', NULL, '{{9,10}}', NULL, NULL),
            (3, '{{}}', NULL, '{{{{{{x}}}}}}', NULL, '{{{{8,9}},{{10,11}}}}', NULL)"""
        )
    _extract_and_load(tmp_path, pg_url, pg_schema, "grids", rows=3)
    with duckdb.connect(str(tmp_path / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'pg__grids'"
            ).fetchall()
        )
        got = con.execute(
            "select flat, grid, cube, mixed, declared, stamps from raw.pg__grids order by id"
        ).fetchall()
    assert types["grid"] == "INTEGER[][]" and types["cube"] == "VARCHAR[][][]"
    assert types["flat"] == "INTEGER[]" and types["mixed"] == "JSON"
    assert types["stamps"] == "TIMESTAMP[][]"
    assert got[0][:5] == ([1, 2], [[1, 2], [3, None]], [[["a b", "c"]]], "[[1]]", [[7]])
    assert got[0][5][0][0].isoformat() == "2026-01-02T03:04:05"
    assert got[1][:5] == (None, [[5, 6]], None, "[9,10]", None)
    assert got[2][:5] == ([], None, [[["x"]]], None, [[8, 9], [10, 11]])
    assert json.loads(got[0][3]) == [[1]]
