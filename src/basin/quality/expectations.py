"""Run Great Expectations suites as Basin's single-scan table contract, pushed down.

Teams coming from Great Expectations keep their suite JSON files (GE 0.x's
``expectation_type`` or 1.x's ``type``). Each supported expectation becomes one rule
of a ``basin.table_contract_sql`` singular test that Basin writes into the dbt
project's ``tests/basin_expectations/`` before each build, so the whole suite is one
query on any engine, DuckDB included. Expectations Basin cannot translate are
reported by name on every run and recorded as ``unsupported`` — never skipped
silently.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from basin.common.errors import ConfigError

GENERATED = "basin_expectations"


@dataclass
class Suite:
    name: str
    model: str
    severity: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)

    @property
    def test_name(self) -> str:
        return f"{GENERATED}__{self.model}__{re.sub(r'[^a-z0-9_]+', '_', self.name.lower())}"


def _mostly(kw: dict[str, Any]) -> dict[str, Any]:
    return {"mostly": kw["mostly"]} if kw.get("mostly") is not None else {}


def _rules_for(kind: str, kw: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Basin's rules for one expectation (None: not supported). Long on purpose: one
    branch per expectation kind, a table read top to bottom."""
    col = kw.get("column")
    if kind == "expect_column_values_to_not_be_null":
        return [{"rule": "not_null", "column": col, **_mostly(kw)}]
    if kind == "expect_column_values_to_be_unique":
        return [{"rule": "unique", "column": col}]
    if kind == "expect_column_values_to_be_in_set":
        return [
            {"rule": "accepted_values", "column": col, "values": kw["value_set"], **_mostly(kw)}
        ]
    if kind == "expect_column_values_to_be_between":
        if kw.get("strict_min") or kw.get("strict_max"):
            return None
        return [
            {
                "rule": "range",
                "column": col,
                "min": kw.get("min_value"),
                "max": kw.get("max_value"),
                **_mostly(kw),
            }
        ]
    if kind == "expect_column_values_to_match_regex":
        # GE matches anywhere in the value; the contract's regex rule matches whole values.
        return [
            {"rule": "regex", "column": col, "pattern": f".*(?:{kw['regex']}).*", **_mostly(kw)}
        ]
    if kind == "expect_table_row_count_to_be_between":
        return [{"rule": "row_count", "min": kw.get("min_value"), "max": kw.get("max_value")}]
    if kind == "expect_table_row_count_to_equal":
        return [{"rule": "row_count", "min": kw["value"], "max": kw["value"]}]
    simple = {
        "expect_column_mean_to_be_between": "mean",
        "expect_column_stdev_to_be_between": "stddev",
        "expect_column_min_to_be_between": "min",
        "expect_column_max_to_be_between": "max",
    }
    if kind in simple:
        if kw.get("strict_min") or kw.get("strict_max"):
            return None
        return [
            {
                "rule": simple[kind],
                "column": col,
                "min": kw.get("min_value"),
                "max": kw.get("max_value"),
            }
        ]
    if kind == "expect_column_median_to_be_between":
        return [
            {
                "rule": "quantile",
                "column": col,
                "q": 0.5,
                "min": kw.get("min_value"),
                "max": kw.get("max_value"),
            }
        ]
    if kind == "expect_column_quantile_values_to_be_between":
        ranges = kw["quantile_ranges"]
        return [
            {"rule": "quantile", "column": col, "q": q, "min": lo, "max": hi}
            for q, (lo, hi) in zip(ranges["quantiles"], ranges["value_ranges"], strict=True)
        ]
    if kind == "expect_column_proportion_of_unique_values_to_be_between":
        return None
    return None


def load_suite(path: Path, model: str, severity: str) -> Suite:
    """Read a suite file and translate its expectations."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot read the expectation suite: {exc}"]) from None
    name = data.get("expectation_suite_name") or data.get("name") or path.stem
    suite = Suite(name=name, model=model, severity=severity)
    for i, exp in enumerate(data.get("expectations", []), start=1):
        kind = exp.get("expectation_type") or exp.get("type") or "?"
        kw = exp.get("kwargs", {})
        try:
            rules = _rules_for(kind, kw)
        except (KeyError, TypeError, ValueError):
            rules = None
        if rules is None:
            detail = (
                f"{kind} (#{i}" + (f", column {kw['column']}" if kw.get("column") else "") + ")"
            )
            suite.unsupported.append(detail)
            continue
        for j, rule in enumerate(rules, start=1):
            suffix = f"_{j}" if len(rules) > 1 else ""
            rule["name"] = f"{i:02d}_{kind.removeprefix('expect_')}{suffix}"
            suite.rules.append(
                {k: v for k, v in rule.items() if v is not None or k in ("min", "max")}
            )
    return suite


def write_tests(tests_dir: Path, suites: list[Suite]) -> None:
    """(Re)write the generated singular tests under a test path of the project Basin
    runs (never the user's folder); removes those of suites no longer configured."""
    folder = tests_dir / GENERATED
    shutil.rmtree(folder, ignore_errors=True)
    if not suites:
        return
    folder.mkdir(parents=True)
    (folder / ".gitignore").write_text("*\n")
    for suite in suites:
        if not suite.rules:
            continue
        body = (
            f"-- Generated by Basin from the expectation suite '{suite.name}'; edits are overwritten.\n"
            f"{{{{ config(severity='{suite.severity}', tags=['basin_expectations']) }}}}\n"
            f"{{{{ basin.table_contract_sql(ref('{suite.model}'), {suite.rules!r}) }}}}\n"
        )
        (folder / f"{suite.test_name}.sql").write_text(body, encoding="utf-8")


def expand_results(suite: Suite, record: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One check record per expectation, from the suite test's record (its sample lists
    the failed rules)."""
    failed: dict[str, list[Any]] = {}
    if record and record.get("sample"):
        sample = json.loads(record["sample"])
        if "rows" in sample:
            cols = sample["columns"]
            for row in sample["rows"]:
                data = dict(zip(cols, row, strict=False))
                failed[str(data.get("rule"))] = row
    base = {
        "unique_id": (record or {}).get("unique_id", f"test.{suite.test_name}"),
        "model": suite.model,
        "severity": suite.severity,
    }
    out = []
    for rule in suite.rules:
        row = failed.get(rule["name"])
        status = "pass"
        if row is not None:
            status = "warn" if suite.severity == "warn" else "fail"
        elif record is None or record.get("status") in ("error", "skipped"):
            status = (record or {}).get("status", "skipped")
        out.append(
            {
                **base,
                "name": f"{suite.name}: {rule['name']}",
                "column_name": rule.get("column"),
                "status": status,
                "failures": None if row is None else row[2],
                "message": None
                if row is None
                else f"{rule['rule']} {rule.get('column') or ''}: {row[4]}",
                "sample": None,
            }
        )
    for detail in suite.unsupported:
        out.append(
            {
                **base,
                "name": f"{suite.name}: {detail}",
                "column_name": None,
                "status": "unsupported",
                "failures": None,
                "message": "not translated by Basin: check it another way or remove it from the suite",
                "sample": None,
            }
        )
    return out
