"""dbt in Airflow: one Basin ``transform`` task vs astronomer-cosmos' task per node.

    python -m bench.airflow_cosmos --scale 0.01 [--pairs 1]

Both arms start from the same loaded warehouse of the reference platform and build
the same dbt project (models, snapshots, tests) under Airflow's ``dag.test()``:

- ``basin``: the DAG's ``transform`` task alone — one in-process dbt build by Basin;
- ``cosmos``: a ``DbtDag`` rendered from the compiled manifest (``LoadMode.DBT_MANIFEST``,
  local execution through ``dbtRunner``), one Airflow task per model and snapshot and
  one for all tests (cosmos' default, tests after each model, fails on this project:
  a relationships test between two marts runs before the second mart is built).

Each arm reports the seconds to parse its DAG file and the seconds of ``dag.test()``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import RESULTS, alternate, machine, samples_json, summarise
from bench.platform import (
    _copy_loaded,
    airflow_template_db,
    dbt_vars,
    generate,
    hand_profiles,
    prepare_loaded,
)

COSMOS_DAG = """
# An Airflow DAG (the words let Airflow's safe-mode discovery parse this file).
from datetime import datetime
from pathlib import Path

from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

root = Path(__file__).resolve().parent.parent
dag = DbtDag(
    dag_id="cosmos_reference",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    project_config=ProjectConfig(
        dbt_project_path=root / "dbt",
        manifest_path=root / "dbt" / "target" / "manifest.json",
        install_dbt_deps=False,
        dbt_vars=VARS,
    ),
    profile_config=ProfileConfig(
        profile_name="reference",
        target_name="bench",
        profiles_yml_filepath=root / "hand-profiles" / "profiles.yml",
    ),
    # Tests after each model fail here: a relationships test between two marts runs
    # before its second mart exists (measured). All tests at the end, as dbt build would.
    render_config=RenderConfig(
        load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL
    ),
    execution_config=ExecutionConfig(
        execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER
    ),
)
# DbtDag is built inside cosmos: point Airflow at this file, as its DAG processor would.
dag.fileloc = __file__
"""


def _airflow_env(root: Path) -> None:
    from basin.config import load_project
    from basin.orchestration.airflow.environment import airflow_environment

    yml = root / "basin.yml"
    # Airflow 3.3.2's dag.test() crashes after a successful run of a DAG with a
    # deadline (apache/airflow#73428).
    yml.write_text(yml.read_text().replace("  deadline: 1h", "  # deadline: 1h"))
    env = airflow_environment(root, load_project(root).config.orchestration)
    db = root / ".basin" / "airflow" / "airflow.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(airflow_template_db(), db)
    (root / ".basin" / "openlineage").mkdir(parents=True, exist_ok=True)
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(root / "timed-dags")
    os.environ.update(env)


def arm_basin(scale: float) -> dict[str, float]:
    import runpy

    root = _copy_loaded(scale, "af-basin")
    (root / "timed-dags").mkdir()
    shutil.copyfile(root / "dags" / "basin_reference.py", root / "timed-dags" / "basin.py")
    _airflow_env(root)
    import airflow.sdk  # noqa: F401

    import basin.transform.runner  # noqa: F401

    started = time.monotonic()
    dag = runpy.run_path(str(root / "timed-dags" / "basin.py"))["basin_reference_dev"]
    parsed = time.monotonic()
    run = dag.partial_subset(["transform"], include_upstream=False).test()
    done = time.monotonic()
    if not str(run.state).endswith("success"):
        raise RuntimeError(f"dag.test() ended {run.state}")
    return {"seconds": done - parsed, "parse_seconds": parsed - started, "tasks": 1}


def arm_cosmos(scale: float) -> dict[str, float]:
    import runpy
    import subprocess

    root = _copy_loaded(scale, "af-cosmos")
    warehouse = root / ".basin" / "dev" / "warehouse.duckdb"
    hand_profiles(root, warehouse)
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [
            str(dbt),
            "parse",
            "--project-dir",
            str(root / "dbt"),
            "--profiles-dir",
            str(root / "hand-profiles"),
            "--quiet",
            "--vars",
            json.dumps(dbt_vars(root)),
        ],
        check=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    (root / "timed-dags").mkdir()
    (root / "timed-dags" / "cosmos_reference.py").write_text(
        f"VARS = {dbt_vars(root)!r}\n" + COSMOS_DAG
    )
    _airflow_env(root)
    import airflow.sdk  # noqa: F401
    import cosmos  # noqa: F401

    started = time.monotonic()
    dag = runpy.run_path(str(root / "timed-dags" / "cosmos_reference.py"))["dag"]
    parsed = time.monotonic()
    run = dag.test()
    done = time.monotonic()
    if not str(run.state).endswith("success"):
        raise RuntimeError(f"dag.test() ended {run.state}")
    return {"seconds": done - parsed, "parse_seconds": parsed - started, "tasks": len(dag.tasks)}


ARMS = {"basin": arm_basin, "cosmos": arm_cosmos}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--arm", choices=sorted(ARMS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        print(json.dumps(ARMS[args.arm](args.scale)))
        return
    generate(args.scale)
    prepare_loaded(args.scale)
    airflow_template_db()
    me = [sys.executable, "-m", "bench.airflow_cosmos", "--scale", str(args.scale), "--arm"]
    samples = alternate(args.pairs, ("basin", "cosmos"), me)
    summary = summarise(samples)
    payload = {
        "scale": args.scale,
        "pairs": args.pairs,
        "machine": machine(),
        "summary": summary,
        "samples": samples_json(samples),
    }
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    path = RESULTS / f"{stamp}-airflow-cosmos-{args.scale:g}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
