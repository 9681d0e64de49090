"""Basin's generic dbt tests: a passing and a failing case of each, on DuckDB and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from basin.common.errors import TransformError
from basin.config import load_project
from basin.pipeline.platform import Platform
from tests.conftest import ENGINES

CASES = Path(__file__).parent / "cases"
GENERIC = [
    "row_count",
    "range",
    "mean",
    "stddev",
    "quantile",
    "regex",
    "not_null_mostly",
    "values_in_set",
    "freshness",
    "contract",
    "primary_key",
]


def build(tmp_path: Path, warehouse: str) -> dict[str, str]:
    shutil.copytree(CASES / "contract_project", tmp_path / "dbt")
    (tmp_path / "basin.yml").write_text(
        f"project: contracts\nenvironments:\n  dev:\n    warehouse: {warehouse}\npublish: {{schemas: []}}\n"
    )
    platform = Platform(load_project(tmp_path))
    with pytest.raises(TransformError) as info:
        platform.transform()
    platform.close()
    run = info.value.dbt_run  # type: ignore[attr-defined]
    return {
        n.unique_id.split(".")[2]: n.status for n in run.nodes if n.resource_type == "test"
    }, run


@pytest.fixture(params=ENGINES)
def warehouse(request: pytest.FixtureRequest) -> str:
    if request.param == "duckdb":
        return "{engine: duckdb}"
    db = request.getfixturevalue("pg_database")
    return f'{{engine: postgres, dsn: "{db}"}}'


def test_each_generic_test_passes_and_fails_as_expected(tmp_path: Path, warehouse: str) -> None:
    statuses, run = build(tmp_path, warehouse)
    for name in GENERIC:
        assert statuses[f"{name}_pass"] == "pass", (name, statuses)
        assert statuses[f"{name}_fail"] == "fail", (name, statuses)
    # The single-scan contract returns one row per failed rule: all 8 of the failing one.
    contract = next(n for n in run.nodes if n.unique_id.split(".")[2] == "contract_fail")
    assert contract.failures == 8
    # A primary key fails on a repeated value and on a null, one row each.
    failures = {n.unique_id.split(".")[2]: n.failures for n in run.nodes}
    assert statuses["primary_key_null"] == "fail"
    assert failures["primary_key_null"] == failures["primary_key_fail"] == 1
