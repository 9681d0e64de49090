"""Great Expectations suites run as Basin's single-scan contract, on DuckDB and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from basin.common.errors import StepFailed
from basin.config import load_project
from basin.pipeline.platform import Platform
from basin.quality.expectations import load_suite
from tests.conftest import ENGINES

CASES = Path(__file__).parent / "cases"


def test_suite_translation_lists_what_it_cannot_run() -> None:
    suite = load_suite(CASES / "orders_suite.json", "stg_shop__orders", "error")
    assert suite.name == "orders.warning"
    assert [r["rule"] for r in suite.rules] == [
        "row_count",
        "not_null",
        "unique",
        "accepted_values",
        "range",
        "regex",
        "mean",
        "quantile",
        "max",
    ]
    assert suite.unsupported == [
        "expect_column_values_to_be_dateutil_parseable (#10, column ordered_at)"
    ]


def test_ge_1x_format_is_read(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(
        '{"name": "s", "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", "mostly": 0.9}}]}'
    )
    suite = load_suite(tmp_path / "s.json", "m", "warn")
    assert suite.rules == [
        {
            "rule": "not_null",
            "column": "a",
            "mostly": 0.9,
            "name": "01_column_values_to_not_be_null",
        }
    ]


@pytest.fixture(params=ENGINES)
def engine_project(request: pytest.FixtureRequest, project: Path) -> tuple[Path, str | None]:
    shutil.copy(CASES / "orders_suite.json", project / "orders_suite.json")
    yml = project / "basin.yml"
    text = yml.read_text().split("\nquality:")[0]
    text += "\nquality:\n  expectation_suites:\n    - {suite: orders_suite.json, model: stg_shop__orders}\n"
    env = None
    if request.param == "postgres":
        db = request.getfixturevalue("pg_database")
        text = text.replace(
            "sources:", f'  pg:\n    warehouse: {{engine: postgres, dsn: "{db}"}}\n\nsources:', 1
        )
        env = "pg"
    yml.write_text(text)
    return project, env


def results_by_name(platform: Platform) -> dict[str, str]:
    run_id = platform.store.runs(1)[0].run_id
    return {
        r.name: r.status
        for r in platform.store.check_results(run_id)
        if r.name.startswith("orders.warning")
    }


def test_failing_expectations_block_publication(engine_project: tuple[Path, str | None]) -> None:
    project, env = engine_project
    platform = Platform(load_project(project, env))
    with pytest.raises(StepFailed, match="basin_expectations__stg_shop__orders__orders_warning"):
        platform.run()
    statuses = results_by_name(platform)
    assert statuses == {
        "orders.warning: 01_table_row_count_to_be_between": "pass",
        "orders.warning: 02_column_values_to_not_be_null": "pass",
        "orders.warning: 03_column_values_to_be_unique": "pass",
        "orders.warning: 04_column_values_to_be_in_set": "pass",
        "orders.warning: 05_column_values_to_be_between": "fail",
        "orders.warning: 06_column_values_to_match_regex": "pass",
        "orders.warning: 07_column_mean_to_be_between": "pass",
        "orders.warning: 08_column_median_to_be_between": "pass",
        "orders.warning: 09_column_max_to_be_between": "fail",
        "orders.warning: expect_column_values_to_be_dateutil_parseable (#10, column ordered_at)": "unsupported",
    }
    assert platform.store.last_publication() is None
    platform.close()
