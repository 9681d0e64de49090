"""The GitHub Actions workflow `basin init` writes: valid for actionlint, and its pull
request job's commands, run here in order on the new project, pass — including the
slim build, which builds only what changed against a production manifest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent
WORKFLOW = Path(".github/workflows/basin.yml")


def _workflow(root: Path) -> dict:
    return yaml.safe_load((root / WORKFLOW).read_text())


def test_the_workflow_passes_actionlint_and_names_only_commands_basin_has(
    tmp_path: Path,
) -> None:
    from basin.scaffold import create_project

    root = tmp_path / "proj"
    create_project(root, name="proj")
    lint = subprocess.run(
        [str(BIN / "actionlint"), str(WORKFLOW)], cwd=root, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr

    # A mistake actionlint catches is caught (the check can fail): an undefined job.
    broken = root / ".github" / "workflows" / "broken.yml"
    text = (root / WORKFLOW).read_text().replace("needs: check", "needs: chek")
    broken.write_text(text)
    assert subprocess.run([str(BIN / "actionlint"), str(broken)], cwd=root).returncode == 1

    jobs = _workflow(root)["jobs"]
    assert set(jobs) == {"check", "publish"}
    assert jobs["publish"]["needs"] == "check" and jobs["publish"]["environment"] == "prod"
    commands = [
        line.strip()
        for job in jobs.values()
        for step in job["steps"]
        for line in str(step.get("run", "")).splitlines()
        if line.strip().startswith("basin ")
    ]
    assert "basin transform --state prod-state" in commands and "basin run" in commands
    assert "basin bi check" in commands  # dashboards checked against what was published
    for command in commands:  # each subcommand and option exists
        words = command.split()
        shown = subprocess.run(
            [str(BIN / "basin"), words[1], "--help"], capture_output=True, text=True
        )
        assert shown.returncode == 0, command
        for option in (w for w in words[2:] if w.startswith("--")):
            assert option in shown.stdout, (command, option)
    # The manifest the publish job keeps is where Basin's build writes it.
    upload = next(s for s in jobs["publish"]["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == ".basin/prod/dbt/target/manifest.json"


def _run_steps(root: Path, job: dict, env: dict[str, str]) -> list[str]:
    """Each ``run:`` step of ``job`` that needs no GitHub API, in order; returns their names."""
    ran = []
    for step in job["steps"]:
        script = step.get("run")
        if script is None or "gh run" in script or script.startswith("pip install"):
            continue  # the GitHub API; installing (this test runs in Basin's own venv)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{step['name']}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        ran.append(step["name"])
    return ran


def _built_models(root: Path) -> set[str]:
    results = json.loads((root / ".basin/dev/dbt/target/run_results.json").read_text())
    return {r["unique_id"] for r in results["results"] if r["unique_id"].startswith("model.")}


@pytest.mark.e2e
def test_the_pull_request_job_passes_on_a_new_project_and_builds_only_what_changed(
    tmp_path: Path,
) -> None:
    from basin.scaffold import create_project

    root = tmp_path / "proj"
    create_project(root, name="proj")
    # A model that nothing changes, to see the slim build leave it alone.
    (root / "dbt/models/marts/order_count.sql").write_text(
        "select count(*) as orders\nfrom {{ ref('stg_shop__orders') }}\n"
    )
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "BASIN_ACTOR": "github:test",
    }
    check = _workflow(root)["jobs"]["check"]

    # The first pull request: no production manifest, everything is built.
    ran = _run_steps(root, check, env)
    assert ran == [
        "Lint Python (ruff)",
        "basin doctor",
        "Lint SQL (sqlfluff with dbt's templater; .sqlfluff)",
        "Slim build on DuckDB",
    ]
    assert {"model.proj.daily_revenue", "model.proj.order_count"} <= _built_models(root)

    # Production's manifest is this build's; a pull request changes one mart.
    prod = root / "prod-state"
    prod.mkdir()
    shutil.copy(root / ".basin/dev/dbt/target/manifest.json", prod / "manifest.json")
    mart = root / "dbt/models/marts/daily_revenue.sql"
    mart.write_text(mart.read_text() + "\n-- a change under review\n")
    # (the same runner: extract and load find nothing new, the build is what is timed)
    slim = [s for s in check["steps"] if s.get("name") == "Slim build on DuckDB"]
    # (the manifest file itself, not its folder, is accepted too)
    slim = [{**s, "run": s["run"].replace("prod-state", "prod-state/manifest.json")} for s in slim]
    _run_steps(root, {"steps": slim}, env)
    assert _built_models(root) == {"model.proj.daily_revenue", "model.proj.stg_shop__orders"}

    # sqlfluff's verdict counts: a badly written model fails the job.
    (root / "dbt/models/marts/bad.sql").write_text(
        "SELECT order_id,amount from {{ ref('stg_shop__orders') }}\n"
    )
    lint_step = next(s for s in check["steps"] if s.get("name", "").startswith("Lint SQL"))
    failed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", lint_step["run"]],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert failed.returncode != 0 and "bad.sql" in failed.stdout
