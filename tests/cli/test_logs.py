"""Basin's messages are log records: the terminal renders them, ``--log-format json``
writes one JSON object per line, and warnings are never dropped."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest


def _records(stdout: str) -> list[dict]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_json_log_lines_carry_run_step_and_entity(cli, project: Path) -> None:
    result = cli("--log-format", "json", "run", project=project)
    assert result.exit_code == 0, result.output
    records = _records(result.stdout)
    run_ids = {r["run_id"] for r in records if "run_id" in r}
    assert len(run_ids) == 1  # every record of the run names it
    extracted = [r for r in records if r.get("step") == "extract" and r.get("entity")]
    assert extracted and extracted[0]["source"] == "shop"
    assert extracted[0]["logger"] == "basin.pipeline.steps.extract"
    assert {r["step"] for r in records if "step" in r} >= {
        "extract",
        "load",
        "transform",
        "publish",
    }
    assert any("published" in r["message"] for r in records)
    assert records[-1]["message"].startswith("✓ run ")


def test_json_errors_carry_the_hint_and_exit_code(cli, project: Path) -> None:
    result = cli("--log-format", "json", "publish", project=project)
    assert result.exit_code == 1
    [error] = [r for r in _records(result.stdout) if r["level"] == "error"]
    assert "nothing audited to publish" in error["message"]
    assert "basin transform" in error["hint"] and error["exit_code"] == 1


def test_warnings_reach_the_terminal_and_json(cli, project: Path) -> None:
    drop = project / "drops" / "shop" / "orders_bad.csv"
    drop.write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "9,x@example.org,not-a-number,paid,2026-01-09 10:00:00\n"
    )
    text = cli("extract", project=project)
    assert text.exit_code == 0, text.output
    assert "quarantined" in text.stdout
    drop.rename(drop.with_name("orders_bad2.csv"))
    as_json = cli("--log-format", "json", "extract", project=project)
    warnings = [r for r in _records(as_json.stdout) if r["level"] == "warning"]
    assert any("quarantined" in r["message"] for r in warnings), as_json.stdout


def test_an_unknown_log_format_is_refused(cli, project: Path) -> None:
    result = cli("--log-format", "xml", "status", project=project)
    assert result.exit_code == 2 and "text or json" in result.output


def test_library_callers_get_records_under_the_basin_logger(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    caplog.set_level(logging.INFO, logger="basin")
    platform = Platform(load_project(project))  # no reporter: nothing printed, all logged
    try:
        platform.extract()
        platform.load()
    finally:
        platform.close()
    by_logger = {r.name for r in caplog.records}
    assert {"basin.pipeline.steps.extract", "basin.pipeline.steps.load"} <= by_logger
    [loaded] = [r for r in caplog.records if "+" in r.getMessage() and "rows" in r.getMessage()]
    assert loaded.step == "load" and loaded.entity == "orders"  # type: ignore[attr-defined]


def test_each_line_is_shown_once_by_a_real_process(project: Path) -> None:
    """A library that configures the root logger (dlt calls logging.basicConfig) must
    not make the terminal show Basin's lines twice."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "basin", "--project", str(project), "run"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert output.count("published 1 table(s)") == 1
    assert "INFO:basin" not in output


def test_library_warnings_do_not_leak_past_basins_output(capfd) -> None:
    """dlt calls logging.basicConfig: without care, sqlglot's and urllib3's warnings and
    Python warnings printed as ``WARNING:sqlglot:…`` between Basin's lines."""
    import warnings

    from rich.console import Console

    from basin.cli.reporting import RichReporter, install, uninstall

    root = logging.getLogger()
    leak = logging.StreamHandler()  # what logging.basicConfig() puts on the root
    root.addHandler(leak)
    try:
        for verbose in (False, True):
            install(RichReporter(Console(stderr=True)), "json", None, verbose=verbose)
            try:
                logging.getLogger("sqlglot").warning("cannot traverse scope")
                logging.getLogger("urllib3.connectionpool").warning("Retrying (Retry(total=2))")
                with warnings.catch_warnings():
                    warnings.simplefilter("always")  # shown on each pass, not once
                    warnings.warn("a library's deprecation", UserWarning, stacklevel=1)
            finally:
                uninstall()
            err = capfd.readouterr().err
            if not verbose:
                assert err == "", err
            else:  # through Basin's handler (JSON lines here), not the root's
                lines = [json.loads(line)["message"] for line in err.splitlines()]
                assert any("cannot traverse scope" in m for m in lines)
                assert any("Retrying" in m for m in lines)
                assert any("deprecation" in m for m in lines)
    finally:
        root.removeHandler(leak)
