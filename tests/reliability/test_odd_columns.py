"""Defect 11: one odd column name never breaks a build, and Basin's own commands
recover from it. Lineage and catalog work never fail a step: a model that cannot be
traced is recorded as untraced with the reason. ``--full-refresh`` replaces the raw
table (the odd column goes), and replay does not bring it back."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

YML = """
project: weird
sources:
  w:
    kind: files
    path: drops
    entities:
      rows: {glob: "x_*.csv"}
dbt:
  project_dir: dbt
publish:
  schemas: [main]
"""


@pytest.fixture
def weird(tmp_path: Path) -> Path:
    (tmp_path / "drops").mkdir()
    models = tmp_path / "dbt" / "models"
    models.mkdir(parents=True)
    (tmp_path / "basin.yml").write_text(YML)
    (tmp_path / "dbt" / "dbt_project.yml").write_text(
        "name: weird\nprofile: weird\nversion: '1.0'\n"
    )
    (models / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: w\n    schema: raw\n    tables:\n"
        "      - name: rows\n        identifier: w__rows\n"
    )
    (models / "stg_rows.sql").write_text("select * from {{ source('w', 'rows') }}\n")
    # A semicolon CSV read with the default delimiter: one column named "a;b;c".
    (tmp_path / "drops" / "x_001.csv").write_text("a;b;c\n1;2;3\n4;5;6\n")
    return tmp_path


def _raw_columns(project: Path) -> list[str]:
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        return [
            c
            for (c,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_name = 'w__rows' order by ordinal_position"
            ).fetchall()
            if not c.startswith("_basin_")
        ]


def test_an_untraceable_column_name_does_not_fail_the_build(cli, weird: Path) -> None:
    result = cli("run", project=weird)
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert "not traced" in result.stdout and "a;b;c" in result.stdout


def test_full_refresh_replaces_the_raw_table_and_replay_keeps_it_replaced(cli, weird: Path) -> None:
    assert cli("run", project=weird).exit_code == 0
    assert _raw_columns(weird) == ["a;b;c"]
    # The user fixes the entity's delimiter and re-baselines it.
    (weird / "basin.yml").write_text(
        YML.replace('rows: {glob: "x_*.csv"}', 'rows: {glob: "x_*.csv", csv: {delimiter: ";"}}')
    )
    done = cli("extract", "--select", "w.rows", "--full-refresh", project=weird)
    assert done.exit_code == 0, done.output
    assert cli("run", project=weird).exit_code == 0
    assert _raw_columns(weird) == ["a", "b", "c"]
    assert cli("replay", project=weird).exit_code == 0
    assert _raw_columns(weird) == ["a", "b", "c"]
    with duckdb.connect(str(weird / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select a, b, c from raw.w__rows order by a").fetchall() == [
            (1, 2, 3),
            (4, 5, 6),
        ]
