"""An incremental SQLite read filtered by SQLite itself gives exactly the scanner's rows:
every value of every type the scanner reads, for cursors of each kind; a value the
conversions cannot take sends the read back to the scanner, with nothing lost."""

from __future__ import annotations

import logging
import math
import sqlite3
from pathlib import Path

import duckdb
import pytest

from basin.common.duckdb import load_extension
from basin.sources.sqlite.pushdown import pushed_relation
from tests.sources.sqlite.test_extract import rows

COLUMNS = (
    "id integer primary key, n integer, r real, price numeric(10,2), t text, b blob, "
    "at_text text, at_time datetime, on_day date"
)
EDGE_REALS = [0.1, 1e308, -1e-320, 0.30000000000000004, math.inf, -math.inf, -0.0, 2.0**53 + 1]
EDGE_TEXT = ["héllo", "", "line\nbreak", "quote ' \" ;", "😀", "a" * 1000]
EDGE_BLOBS = [b"", b"\x00", b"\x00\xff\x10", bytes(range(256))]
TIMES = [
    "2026-02-01 10:00:00",
    "2026-02-01T10:00:00",
    "2026-02-01 10:00:00.5",
    "2026-02-01 10:00:00.123456789",
    "2026-02-01 10:00:00+02:00",
    "2026-02-01 10:00:00Z",
    "2026-02-01",
    "  2026-02-01 10:00:00",
    "2026-02-01 24:00:00",
]


def _database(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute(f"create table events ({COLUMNS})")
    rows_ = []
    for i in range(400):
        day = 1 + i % 28
        hour = i % 24
        moment = f"2026-02-{day:02d} {hour:02d}:{i % 60:02d}:00"
        rows_.append(
            (
                i,
                (-(2**63) if i == 7 else 2**63 - 1 if i == 8 else i * 1_000_003) if i % 5 else None,
                EDGE_REALS[i % len(EDGE_REALS)] if i % 7 else None,
                round(i * 1.01, 2),
                EDGE_TEXT[i % len(EDGE_TEXT)] if i % 11 else None,
                EDGE_BLOBS[i % len(EDGE_BLOBS)] if i % 13 else None,
                moment,
                TIMES[i % len(TIMES)].replace("2026-02-01", f"2026-02-{day:02d}"),
                f"2026-02-{day:02d}",
            )
        )
    db.executemany(f"insert into events values ({', '.join('?' * 9)})", rows_)
    db.commit()
    db.close()


def _same(left: list[tuple], right: list[tuple]) -> bool:
    """Equal row for row, floats bit for bit (-0.0 and NaN included)."""

    def key(row: tuple) -> tuple:
        return tuple(
            (type(v).__name__, math.copysign(1, v), v.hex()) if isinstance(v, float) else v
            for v in row
        )

    return sorted(map(key, left), key=repr) == sorted(map(key, right), key=repr)


@pytest.mark.parametrize(
    ("cursor", "bounds"),
    [
        ("at_text", ["2026-02-10 00:00:00", "2026-02-27 23:00:00", "2026-03-01"]),
        ("id", ["0", "250", "399", "1000"]),
        ("at_time", ["2026-02-10 00:00:00", "2026-02-20T12:00:00", "2026-02-28 10:00:00.5"]),
        ("on_day", ["2026-02-10", "2026-02-28"]),
    ],
)
def test_sqlite_filters_and_the_rows_equal_the_scanners(
    tmp_path: Path, cursor: str, bounds: list[str]
) -> None:
    _database(tmp_path / "src.db")
    con = duckdb.connect()
    load_extension(con, "sqlite_scanner")
    con.execute(f"ATTACH '{tmp_path / 'src.db'}' AS src (TYPE sqlite, READ_ONLY)")
    columns = [(r[0], r[1]) for r in con.execute("DESCRIBE SELECT * FROM src.events").fetchall()]
    assert {t for _, t in columns} == {"BIGINT", "DOUBLE", "VARCHAR", "BLOB", "TIMESTAMP", "DATE"}
    for lower in bounds:
        for text_affinity in (False, True) if cursor == "at_text" else (False,):
            pushed = pushed_relation(
                "src", "events", columns, cursor, lower, text_affinity=text_affinity
            )
            assert pushed is not None and "sqlite_query" in pushed
            where = f"WHERE \"{cursor}\" >= '{lower}'"
            scanned = con.execute(f"SELECT * FROM src.events {where}").fetchall()
            filtered = con.execute(f"SELECT * FROM {pushed} AS p {where}").fetchall()
            assert _same(filtered, scanned), lower
            described = con.execute(f"DESCRIBE SELECT * FROM {pushed}").fetchall()
            assert [(r[0], r[1]) for r in described] == columns
    # What SQLite hands over is narrowed: never the whole table for a late bound.
    late = pushed_relation("src", "events", columns, "id", "390")
    assert con.execute(f"SELECT count(*) FROM {late}").fetchone() == (10,)


def test_a_text_cursor_without_text_affinity_keeps_the_numbers_in_it(tmp_path: Path) -> None:
    """A column declared ``string`` has NUMERIC affinity: ``20260301`` is stored as a
    number, which SQLite sorts before all text. SQLite's filter keeps it (a plain
    comparison would drop it), the conversion (text expected) hands the read back to
    the scanner — which refuses the table as it always did: the same outcome, never a
    row silently left out."""
    db = sqlite3.connect(tmp_path / "src.db")
    db.execute("create table t (id integer primary key, stamp string)")
    db.executemany(
        "insert into t values (?, ?)",
        [(1, "2026-01-05"), (2, "2026-02-10"), (3, "20260301"), (4, "x-late"), (5, None)],
    )
    db.commit()
    con = duckdb.connect()
    load_extension(con, "sqlite_scanner")
    con.execute(f"ATTACH '{tmp_path / 'src.db'}' AS src (TYPE sqlite, READ_ONLY)")
    columns = [(r[0], r[1]) for r in con.execute("DESCRIBE SELECT * FROM src.t").fetchall()]
    assert dict(columns)["stamp"] == "VARCHAR"
    pushed = pushed_relation("src", "t", columns, "stamp", "2026-02-01")
    assert pushed is not None
    where = "WHERE stamp >= '2026-02-01'"
    with pytest.raises(duckdb.Error, match='found "20260301" of type "integer"'):
        con.execute(f"SELECT * FROM src.t {where}").fetchall()
    with pytest.raises(duckdb.Error, match="SQLite filter pushdown"):
        con.execute(f"SELECT * FROM {pushed} AS p {where}").fetchall()


def test_a_column_type_or_cursor_it_cannot_convert_is_left_to_the_scanner() -> None:
    assert pushed_relation("s", "t", [("id", "BIGINT"), ("x", "HUGEINT")], "id", "1") is None
    assert pushed_relation("s", "t", [("id", "BIGINT"), ("r", "DOUBLE")], "r", "1.5") is None
    assert pushed_relation("s", "t", [("id", "BIGINT")], "id", "not a number") is None
    assert pushed_relation("s", "t", [("at", "TIMESTAMP")], "at", "yesterday") is None


def _project(tmp_path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(tmp_path / "ops.db")
    db.execute(
        "create table orders (order_id integer primary key, status text, amount real, "
        "shipped_at datetime, updated_at text)"
    )
    db.executemany(
        "insert into orders values (?, ?, ?, ?, ?)",
        [
            (i, "new", i * 0.1, "2026-01-01 09:00:00", f"2026-01-01 {10 + i % 10}:00:00")
            for i in range(1, 51)
        ],
    )
    db.commit()
    (tmp_path / "basin.yml").write_text(
        "project: lite\nsources:\n  ops:\n    kind: sqlite\n    path: ops.db\n    tables:\n"
        "      orders: {cursor: updated_at, overlap: 1 hour, primary_key: [order_id]}\n"
    )
    return db


def test_an_incremental_extract_reads_only_the_new_rows_out_of_sqlite(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A row written long ago with a value the scanner cannot read (text in a datetime
    column) breaks a read of the whole table; the incremental read never touches it."""
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    db = _project(tmp_path)
    platform = Platform(load_project(tmp_path))
    assert [r.rows for r in platform.extract()] == [50]
    db.execute("insert into orders values (900, 'old', 1.5, 'not a time', '2025-06-01 00:00:00')")
    db.execute(
        "insert into orders values (51, 'new', 0.30000000000000004, '2026-01-02 08:00:00.25', "
        "'2026-01-02 08:00:00')"
    )
    db.execute(
        "update orders set status = 'paid', updated_at = '2026-01-02 09:00:00' where order_id = 3"
    )
    db.commit()
    with caplog.at_level(logging.INFO, logger="basin"):
        assert [r.rows for r in platform.extract()] == [2]
    assert "read through the scanner" not in caplog.text
    got = {r[0]: r[1:] for r in rows(platform, "orders", "order_id, status, amount, shipped_at")}
    assert got[51][:2] == ("new", 0.30000000000000004)
    assert str(got[51][2]) == "2026-01-02 08:00:00.250000"
    assert got[3][0] == "paid"  # the update, read again (and the older version kept)
    assert 900 not in got  # older than the watermark: neither read nor needed
    platform.close()


def test_a_value_the_pushdown_cannot_take_is_read_by_the_scanner_with_nothing_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite types values, not columns: a number in the datetime column ``shipped_at``
    (NUMERIC affinity keeps ``20260201`` an integer) is not one the pushdown converts —
    the scanner reads the table, as before, and gives what it always gave."""
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    db = _project(tmp_path)
    platform = Platform(load_project(tmp_path))
    platform.extract()
    db.execute("insert into orders values (52, 'new', 5.0, 20260201, '2026-01-03 00:00:00')")
    db.commit()
    with caplog.at_level(logging.INFO, logger="basin"):
        assert [r.rows for r in platform.extract()] == [1]
    assert "read through the scanner" in caplog.text
    found = [r for r in rows(platform, "orders", "order_id, shipped_at") if r[0] == 52]
    assert [(i, str(at)) for i, at in found] == [(52, "1970-08-23 11:50:01")]  # the scanner's
    platform.close()
