"""CSV dialects: a wrong delimiter or a guessed date format is said, naming the
setting that fixes it; dates and decimal commas are read as configured."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

UNTYPED = """
project: dialects
sources:
  shop:
    kind: files
    path: drops
    entities:
      orders:
        glob: "orders_*.csv"
{extra}
"""


def _project(root: Path, body: str, extra: str = "") -> Path:
    (root / "drops").mkdir(parents=True)
    (root / "drops" / "orders_001.csv").write_text(body)
    (root / "basin.yml").write_text(UNTYPED.format(extra=extra))
    return root


def _rows(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_header_holding_another_delimiter_names_csv_delimiter(cli, tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "id;amount\n1;2\n")
    result = cli("extract", project=root)
    assert result.exit_code == 0
    assert "its header is one column, 'id;amount', holding ';'" in result.stdout
    assert "set csv.delimiter: ';'" in result.stdout


@pytest.mark.parametrize("guessed", ["%d/%m/%Y", "%m/%d/%Y"])
def test_a_guessed_date_format_is_never_silent(cli, tmp_path: Path, guessed: str) -> None:
    day_first = guessed == "%d/%m/%Y"
    body = "id,day\n1,01/02/2026\n2," + ("13/02/2026" if day_first else "02/13/2026") + "\n"
    root = _project(tmp_path / "p", body)
    result = cli("extract", project=root)
    assert f"values read as '{guessed}', a format DuckDB guessed" in result.stdout
    assert f"csv.dateformat: '{guessed}'" in result.stdout


def test_configured_dates_and_decimal_commas_are_read_as_said(cli, tmp_path: Path) -> None:
    root = _project(
        tmp_path / "p",
        "id;day;amount\n1;01/02/2026;1234,56\n2;03/04/2026;0,5\n",
        extra='        csv: {delimiter: ";", dateformat: "%m/%d/%Y", decimal_separator: ","}\n'
        '        columns: {id: INTEGER, day: DATE, amount: "DECIMAL(10,2)"}',
    )
    result = cli("run", project=root)
    assert "a format DuckDB guessed" not in result.stdout
    assert _rows(root, "select id, day, amount from raw.shop__orders order by id") == [
        (1, dt.date(2026, 1, 2), Decimal("1234.56")),
        (2, dt.date(2026, 3, 4), Decimal("0.50")),
    ]


def test_declared_columns_are_matched_by_name_not_position(cli, tmp_path: Path) -> None:
    # Two text columns in another order than declared: read by position, each value
    # landed silently in the other column.
    root = _project(
        tmp_path / "p",
        "id,name,email\n1,ada,ada@example.org\n",
        extra="        columns: {id: INTEGER, email: VARCHAR, name: VARCHAR}\n",
    )
    (root / "drops" / "orders_002.csv").write_text("email,id,name\ngrace@example.org,2,grace\n")
    assert cli("extract", project=root).exit_code == 0
    assert cli("load", project=root).exit_code == 0
    assert _rows(root, "select id, name, email from raw.shop__orders order by id") == [
        (1, "ada", "ada@example.org"),
        (2, "grace", "grace@example.org"),
    ]
