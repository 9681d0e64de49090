"""Airflow DAGs from basin.yml: tier 1 (every DAG imports with no connections) and
tier 2 (the example's structure). Each runs in a fresh interpreter with its own
AIRFLOW_HOME, as the scheduler's DAG processor would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from basin.observe.incidents import GATE

REPO = Path(__file__).resolve().parent.parent.parent
DAGS = REPO / "examples" / "reference" / "dags"


def in_airflow(code: str, tmp_path: Path) -> dict:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        # A metadata database that does not exist: parsing must not need one.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'never-created.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "never-created.db").exists()
    return json.loads(done.stdout.strip().splitlines()[-1])


def dag_test(
    tmp_path: Path, dags_folder: Path, dag_file: str, dag_id: str, after: str = ""
) -> dict:
    """Migrate a fresh Airflow database, run ``dag.test()`` of one DAG in a new
    interpreter, and return its state and task states (plus what ``after`` adds to
    the dict ``out``)."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        # dag.test() runs DAGs of the configured bundle (Airflow 3): the DAG's folder.
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(tmp_path / "openlineage.jsonl"), "append": True}
        ),
    }
    airflow = Path(sys.executable).parent / "airflow"
    migrated = subprocess.run(
        [str(airflow), "db", "migrate"], capture_output=True, text=True, env=env, timeout=600
    )
    assert migrated.returncode == 0, migrated.stdout[-2000:] + migrated.stderr[-2000:]
    result = tmp_path / "dag-test-result.json"
    result.unlink(missing_ok=True)
    code = (
        "import json, runpy\n"
        f"dags = runpy.run_path({str(dags_folder / dag_file)!r})\n"
        f"run = dags[{dag_id!r}].test()\n"
        "out = {'state': str(run.state), 'tasks': {ti.task_id: str(ti.state) for ti in run.get_task_instances()}}\n"
        f"{after}"
        # Into a file, not stdout: a task runner may leave sys.stdout redirected into
        # its log (seen once in CI: the printed result never reached the pipe).
        f"open({str(result)!r}, 'w').write(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = json.loads(result.read_text())
    out["output"] = done.stdout + done.stderr  # what the task logs received
    return out


def test_every_generated_dag_imports_without_connections(tmp_path: Path) -> None:
    code = (
        "import json\nfrom airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(DAGS)!r})\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()}, 'dags': sorted(bag.dag_ids)}))"
    )
    result = in_airflow(code, tmp_path)
    assert result["errors"] == {}
    assert result["dags"] == ["basin_reference_dev", "basin_reference_postgres"]


EXPECTED = {
    **{
        f"extract__{source}__{entity}": ["load"]
        for source, entities in {
            "finance": ["customers", "accounts", "transactions"],
            "operations": ["products", "orders", "order_items", "inventory_snapshots"],
            "crm": ["interactions", "opportunities"],
            "email": ["campaigns", "email_events"],
        }.items()
        for entity in entities
    },
    "load": ["transform"],
    "transform": ["publish"],
    "publish": ["monitor"],
    "monitor": [],
}


def test_example_dag_structure_schedule_retries_and_deadline(tmp_path: Path) -> None:
    code = (
        "import json, runpy\n"
        f"dags = runpy.run_path({str(DAGS / 'basin_reference.py')!r})\n"
        "dag = dags['basin_reference_dev']\n"
        "t = dag.get_task('extract__finance__customers')\n"
        "cond = dag.timetable.asset_condition\n"
        "assets = getattr(cond, 'objects', [cond])\n"
        "print(json.dumps({'structure': {x.task_id: sorted(x.downstream_task_ids) for x in dag.tasks},"
        " 'cron': dag.timetable.timetable.expression,"
        " 'assets': [a.name for a in assets],"
        " 'watchers': [w.trigger.serialize() for a in assets for w in a.watchers],"
        " 'outlets': [a.name for a in dag.get_task('publish').outlets],"
        " 'retries': t.retries, 'backoff': t.retry_exponential_backoff,"
        " 'max_delay': t.max_retry_delay.total_seconds(), 'deadline': [d.interval.total_seconds() for d in dag.deadline],"
        " 'callback': t.on_failure_callback[0].__name__ if isinstance(t.on_failure_callback, list) else t.on_failure_callback.__name__,"
        " 'monitor': [dag.get_task('monitor').is_teardown, bool(dag.get_task('monitor').on_failure_callback)]}))"
    )
    result = in_airflow(code, tmp_path)
    assert result["structure"] == EXPECTED
    # The monitors run whatever happened (a teardown), without changing the run's state,
    # and a failure of their own opens no incident.
    assert result["monitor"] == [True, False]
    assert result["cron"] == "0 5 * * *"
    # A CRM export landing in drops/crm starts a run too; publishing updates an asset.
    assert result["assets"] == ["basin_reference_dev.drops.crm"]
    [(classpath, kwargs)] = result["watchers"]
    assert classpath == "basin.orchestration.airflow.triggers.DropFolderTrigger"
    assert kwargs["directory"] == str(DAGS.parent / "drops" / "crm")
    assert kwargs["globs"] == ["interactions_*.csv", "opportunities_*.jsonl"]
    assert result["outlets"] == ["basin_reference_dev.published"]
    assert (result["retries"], result["backoff"], result["max_delay"]) == (3, True, 900.0)
    assert result["deadline"] == [3600.0]
    assert result["callback"] == "on_task_failure"


def test_dag_file_is_configuration_only() -> None:
    source = (DAGS / "basin_reference.py").read_text()
    code_lines = [
        line
        for line in source.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", '"""', "from", "import"))
    ]
    assert code_lines == [
        'globals().update(build_dags(Path(__file__).resolve().parent.parent / "basin.yml"))'
    ]


def test_dag_test_runs_the_example_and_publishes(tmp_path: Path, reference: Path) -> None:
    """Tier 3: Airflow's own `dag.test()` runs every task of the example, in order."""
    # Airflow 3.3.2's dag.test() crashes after a successful run of any DAG with a
    # deadline (apache/airflow#73428, fix pending): test this run without one.
    yml = reference / "basin.yml"
    yml.write_text(yml.read_text().replace("  deadline: 1h", "  # deadline: 1h"))
    subprocess.run(
        [
            sys.executable,
            str(reference / "generator.py"),
            "--root",
            str(reference),
            "--scale",
            "0.002",
        ],
        check=True,
    )
    twin = tmp_path / "twin"
    shutil.copytree(reference, twin)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "basin"), "--project", str(twin), "run"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = dag_test(tmp_path, reference / "dags", "basin_reference.py", "basin_reference_dev")
    assert result["state"].endswith("success"), result
    assert set(result["tasks"]) == set(EXPECTED) and all(
        s.endswith("success") for s in result["tasks"].values()
    )
    # Basin's log records reach the task logs (they were dropped before: tasks have no
    # terminal), with the names of the loggers that wrote them.
    assert "published 5 table(s) to" in result["output"]
    assert "basin.pipeline.steps.extract" in result["output"]
    import duckdb

    published = reference / ".basin" / "dev" / "published" / "warehouse.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from marts.customer_360").fetchone()[0] == 50
    # The marts Airflow published are the ones `basin run` publishes.
    from tests.reference_runs import checksums

    twin_published = twin / ".basin" / "dev" / "published" / "warehouse.duckdb"
    assert checksums(published, ["marts"]) == checksums(twin_published, ["marts"])

    # The OpenLineage provider is on: every task emitted START and COMPLETE.
    events = [json.loads(x) for x in (tmp_path / "openlineage.jsonl").read_text().splitlines()]
    by_job: dict[str, set[str]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], set()).add(event["eventType"])
    for task in EXPECTED:
        assert by_job[f"basin_reference_dev.{task}"] >= {"START", "COMPLETE"}, by_job


def test_failing_gate_fails_the_dag_run_and_fires_the_failure_callback(
    tmp_path: Path, project: Path
) -> None:
    (project / "basin.yml").write_text(
        (project / "basin.yml").read_text() + "\norchestration:\n  retries: 0\n"
    )
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n7,t@example.org,99.00,lost,2026-01-07 10:00:00\n"
    )
    result = dag_test(tmp_path, project / "dags", "basin_dags.py", "basin_proj_dev")
    assert result["state"].endswith("failed")
    assert result["tasks"]["transform"].endswith("failed")
    assert not result["tasks"]["publish"].endswith("success")
    assert not (project / ".basin" / "dev" / "published" / "warehouse.duckdb").exists()

    from basin.config import load_project
    from basin.pipeline.platform import Platform

    assert result["tasks"]["monitor"].endswith("success")  # it ran, and the run still failed
    platform = Platform(load_project(project))
    # The same incident a `basin run` opens: a failed gate, naming the task and the test.
    [incident] = platform.store.incidents(open_only=True)
    assert incident.kind == "gate_failed" and (incident.source, incident.entity) == GATE
    assert "accepted_values" in incident.message
    # The monitors ran after the failure, and the metrics textfile was written.
    assert platform.store.monitor_results()
    assert (project / ".basin" / "dev" / "metrics" / "basin.prom").is_file()
    # Each task is in the audit log, by Airflow's service identity, with its outcome.
    from basin.access.audit import entries, verify

    logged = {e.command: (e.actor, e.outcome) for e in entries(platform.store)}
    assert logged["airflow transform"] == ("service:airflow", "failed")
    assert logged["airflow load"] == ("service:airflow", "success")
    assert verify(platform.store)[1] == []
    platform.close()

    # Fixed (the new status is accepted): the next DAG run publishes and resolves it.
    models = project / "dbt" / "models" / "staging" / "shop" / "_shop__models.yml"
    models.write_text(
        models.read_text().replace("[paid, pending, refunded]", "[paid, pending, refunded, lost]")
    )
    again = dag_test(tmp_path, project / "dags", "basin_dags.py", "basin_proj_dev")
    assert again["state"].endswith("success"), again["tasks"]
    platform = Platform(load_project(project))
    assert platform.store.incidents(open_only=True) == []
    [resolved] = platform.store.incidents()
    assert resolved.id == incident.id and resolved.resolved_by == "basin"
    platform.close()


def test_a_task_that_fails_twice_is_retried_with_growing_delays(
    tmp_path: Path, project: Path
) -> None:
    from tests.sources.rest.fake_api import TOKEN, FakeApi

    api = FakeApi().start()
    api.records = [{"id": 1, "name": "a", "updated_at": "2026-01-01T00:00:00"}]
    api.fail[("/pages", "1")] = [503, 503]  # the first two attempts of the task fail
    try:
        yml = project / "basin.yml"
        yml.write_text(
            yml.read_text().replace(
                "\ndbt:",
                f"\n  mail:\n    kind: rest\n    base_url: {api.url}\n    auth: {{type: bearer, token: {TOKEN}}}\n"
                "    retries: {max_attempts: 1}\n"
                "    endpoints:\n      pages: {path: /pages, record_path: items, "
                "pagination: {type: page_number, page_param: page, base_page: 1}}\n\ndbt:",
                1,
            )
            + "\norchestration:\n  retries: 2\n  retry_delay_seconds: 1\n  max_retry_delay_seconds: 30\n"
        )
        after = (
            "from airflow.models.taskinstancehistory import TaskInstanceHistory\n"
            "from airflow.utils.session import create_session\n"
            "ti = [t for t in run.get_task_instances() if t.task_id == 'extract__mail__pages'][0]\n"
            "with create_session() as s:\n"
            "    tries = s.query(TaskInstanceHistory).filter_by(dag_id=ti.dag_id, task_id=ti.task_id, "
            "run_id=ti.run_id).order_by(TaskInstanceHistory.try_number).all()\n"
            "    out['history'] = [(h.start_date.timestamp(), h.end_date.timestamp(), str(h.state)) for h in tries]\n"
            "out['try'] = ti.try_number\n"
            "out['final'] = [ti.start_date.timestamp()]\n"
        )
        result = dag_test(tmp_path, project / "dags", "basin_dags.py", "basin_proj_dev", after)
    finally:
        api.stop()
    assert result["state"].endswith("success"), result
    assert result["try"] == 3
    history = result["history"]
    assert [h[2].endswith("failed") or "retry" in h[2] for h in history] == [True, True]
    starts = [h[0] for h in history] + result["final"]
    gaps = [starts[1] - history[0][1], starts[2] - history[1][1]]
    assert gaps[0] >= 1 and gaps[1] >= gaps[0]  # exponential backoff: the wait grows


def test_upstream_assets_and_drop_folders_become_the_dag_schedule(
    tmp_path: Path, project: Path
) -> None:
    yml = project / "basin.yml"
    base = yml.read_text()
    code = (
        "import json, runpy\n"
        f"dags = runpy.run_path({str(project / 'dags' / 'basin_dags.py')!r})\n"
        "dag = dags['basin_proj_dev']\n"
        "cond = dag.timetable.asset_condition if hasattr(dag.timetable, 'asset_condition') else None\n"
        "objects = getattr(cond, 'objects', [cond] if cond is not None else [])\n"
        "print(json.dumps({'timetable': type(dag.timetable).__name__,"
        " 'names': sorted(getattr(o, 'name', '') for o in objects),"
        " 'refs': sorted(type(o).__name__ for o in objects)}))"
    )
    yml.write_text(
        base + "\norchestration:\n  triggers:\n    drop_folders: false\n"
        "    assets: [basin_upstream_dev.published]\n"
    )
    only_upstream = in_airflow(code, tmp_path / "a")
    assert only_upstream["names"] == ["basin_upstream_dev.published"]
    assert only_upstream["refs"] == ["AssetNameRef"]

    yml.write_text(
        base + '\norchestration:\n  schedule: "0 6 * * *"\n  triggers:\n'
        "    assets: [basin_upstream_dev.published]\n"
    )
    both = in_airflow(code, tmp_path / "b")
    assert both["timetable"] == "AssetOrTimeSchedule"
    assert both["names"] == ["basin_proj_dev.drops.shop", "basin_upstream_dev.published"]

    yml.write_text(base + "\norchestration:\n  triggers: {drop_folders: false}\n")
    assert in_airflow(code, tmp_path / "c")["names"] == []


def test_a_terminal_error_fails_the_task_at_once_without_retries(
    tmp_path: Path, project: Path
) -> None:
    from tests.sources.rest.fake_api import FakeApi

    api = FakeApi().start()
    api.records = [{"id": 1, "name": "a", "updated_at": "2026-01-01T00:00:00"}]
    try:
        yml = project / "basin.yml"
        yml.write_text(
            yml.read_text().replace(
                "\ndbt:",
                f"\n  mail:\n    kind: rest\n    base_url: {api.url}\n    auth: {{type: bearer, token: wrong}}\n"
                "    endpoints:\n      pages: {path: /pages, record_path: items, "
                "pagination: {type: page_number, page_param: page, base_page: 1}}\n\ndbt:",
                1,
            )
            + "\norchestration:\n  retries: 3\n  retry_delay_seconds: 1\n"
        )
        after = (
            "ti = [t for t in run.get_task_instances() if t.task_id == 'extract__mail__pages'][0]\n"
            "out['try'] = ti.try_number\n"
        )
        result = dag_test(tmp_path, project / "dags", "basin_dags.py", "basin_proj_dev", after)
    finally:
        api.stop()
    assert result["tasks"]["extract__mail__pages"].endswith("failed"), result
    assert result["try"] == 1  # a 401 is not retried: it would fail the same way
    assert len([r for r in api.requests if r[0] == "/pages"]) == 1
