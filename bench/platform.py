"""Steps of `basin run` on the reference platform, each against a plain baseline.

- transform: Basin's ``Platform.transform`` vs a plain ``dbt build`` of the same project
  with a hand-written profile, both from the same freshly loaded warehouse file;
- run: the whole ``basin run`` vs the sum of plain step baselines — DuckDB ``COPY``
  of each SQLite table and dropped file to Parquet, plain paging of the API into JSON
  lines, ``CREATE TABLE AS`` of each into ``raw``, the plain ``dbt build``, and a copy of
  the marts into a new file;
- incremental: ``basin run`` after one generated day (≈1% new and changed rows) vs the
  full first run;
- airflow: Airflow's ``dag.test()`` of the example's DAG (parse the DAG file, run every
  task in order, with the OpenLineage provider writing its events) vs ``basin run``;
  Airflow's database is migrated once outside the clock and copied for each sample.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "reference"
DATA = Path(os.environ.get("BASIN_BENCH_DATA", Path(__file__).parent / ".data"))
VARS = {
    "basin_publish_schemas": ["marts"],
    "basin_audit_suffix": "",
    "basin_severity": {"staging": "warn", "marts": "error"},
}


def dbt_vars(root: Path) -> dict[str, Any]:
    """The variables ``basin transform`` gives dbt for the project at ``root``: the
    settings above and its Data Vault spec (``dbt/vault.yml``)."""
    from basin.transform.vault import load_vault

    vault = load_vault(root / "dbt")
    return {**VARS, "basin_vault": vault.dbt_var()} if vault is not None else dict(VARS)


def project_dir(scale: float) -> Path:
    return DATA / f"reference-{scale:g}"


def fresh_copy(scale: float, name: str) -> Path:
    """A copy of the example with this scale's generated sources and no Basin state."""
    src = project_dir(scale)
    dest = DATA / f"work-{scale:g}-{name}"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".basin", "target", "logs"))
    os.sync()  # the copy's write-back must not run while an arm is on the clock
    return dest


def own_port(root: Path) -> Path:
    """Give a copy of the reference platform its own port for the demo SaaS API: its
    basin.yml says 8765 with ``reuse_running: true``, so two copies run at once (a
    benchmark beside the tests, or two xdist workers) would share one server, and the
    first to finish would stop it under the other."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yml = root / "basin.yml"
    yml.write_text(yml.read_text().replace("8765", str(port)))
    return root


def run_generator(root: Path, scale: float | str, *args: str, quiet: bool = True) -> None:
    """The copy's ``generator.py`` at ``scale`` (``--add-day`` for the next day)."""
    subprocess.run(
        [
            sys.executable,
            str(root / "generator.py"),
            "--root",
            str(root),
            "--scale",
            str(scale),
            *args,
        ],
        check=True,
        capture_output=quiet,
    )


def shift_times(store: Any, hours: float) -> None:
    """Move every time a metadata store recorded ``hours`` into the past: to the
    monitors, the same as waiting that long (days of a platform in minutes). The audit
    log keeps its true times (rewriting them is what its hash chain exposes)."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from basin.metadata.models import Base, UTCDateTime

    delta = timedelta(hours=hours)
    with store.session() as s:
        for table in Base.metadata.sorted_tables:
            times = [c for c in table.columns if isinstance(c.type, UTCDateTime)]
            if not times or table.name == "basin_audit_log":
                continue
            keys = list(table.primary_key.columns)
            for row in s.execute(select(*keys, *times)).all():
                values = {
                    c.name: None if v is None else v - delta
                    for c, v in zip(times, row[len(keys) :], strict=True)
                }
                where = [k == row[i] for i, k in enumerate(keys)]
                s.execute(update(table).where(*where).values(values))


def generate(scale: float) -> Path:
    """Generate the sources once per scale (fixed seed) and a day-2 copy for increments."""
    root = project_dir(scale)
    code = shutil.ignore_patterns(".basin", "data", "drops", "target", "logs", "dbt_packages")
    if (root / "data" / "generator_state.json").exists():
        # Data is reused; the project's files are refreshed from the example each time.
        shutil.copytree(EXAMPLE, root, ignore=code, dirs_exist_ok=True)
        return own_port(root)
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(EXAMPLE, root, ignore=code)
    own_port(root)
    started = time.monotonic()
    run_generator(root, scale, quiet=False)
    print(f"generated scale {scale} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return root


def _platform(root: Path):  # noqa: ANN202
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    return Platform(load_project(root))


def prepare_loaded(scale: float) -> Path:
    """Extract and load once; later arms copy the warehouse file with raw only."""
    root = fresh_copy(scale, "loaded")
    platform = _platform(root)
    platform.extract()
    platform.load()
    platform.close()
    return root


def _copy_loaded(scale: float, name: str) -> Path:
    from basin.transform.package import install_package  # what `dbt deps` would do: a file copy

    loaded = DATA / f"work-{scale:g}-loaded"
    root = fresh_copy(scale, name)
    shutil.copytree(loaded / ".basin", root / ".basin")
    install_package(root / "dbt")
    # Write the copied warehouse out now, not while the next arm is on the clock
    # (the kernel's write-back of a few hundred MB made timings swing by ±30%).
    os.sync()
    return root


def arm_transform_basin(scale: float, *, lineage: bool = True, before: int = 0) -> dict[str, float]:
    """``basin transform`` of a freshly loaded warehouse, timed after ``before``
    untimed transforms of the same project: 1 = the first incremental run (models'
    SQL changes once as ``is_incremental()`` turns true, so their lineage is traced
    again), 2 = a later day (unchanged SQL, traces cached)."""
    name = "t-basin" + ("" if lineage else "-nolineage") + (f"-{before}" if before else "")
    root = _copy_loaded(scale, name)
    if not lineage:
        yml = root / "basin.yml"
        yml.write_text(yml.read_text() + "\nlineage:\n  enabled: false\n  column_lineage: false\n")
    platform = _platform(root)
    import basin.transform.runner  # noqa: F401  (imports outside the clock)

    platform.store  # noqa: B018
    for _ in range(before):
        platform.transform()
    os.sync()
    traced = _time_calls(platform.tracker, "transformed")
    flushed = _time_calls(platform.lineage, "flush")  # waiting for background events
    started = time.monotonic()
    platform.transform()
    seconds = time.monotonic() - started
    platform.close()
    # The lineage work of the timed transform, measured inside it: a steadier view of
    # the overhead than the A/B wall times on a noisy machine.
    return {"seconds": seconds, "lineage_seconds": traced[0] + flushed[0]}


def _time_calls(obj: object, method: str) -> list[float]:
    """Wrap ``obj.method`` so that its total time accumulates in the returned cell."""
    cell = [0.0]
    inner = getattr(obj, method)

    def timed(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            cell[0] += time.perf_counter() - started

    setattr(obj, method, timed)
    return cell


def hand_profiles(root: Path, warehouse: Path | dict[str, Any]) -> Path:
    """A profiles folder written by hand, as a dbt user without Basin would: DuckDB's
    for a warehouse file, or the given profile output (e.g. PostgreSQL's)."""
    profiles = root / "hand-profiles"
    profiles.mkdir(exist_ok=True)
    target = (
        warehouse
        if isinstance(warehouse, dict)
        else {"type": "duckdb", "path": str(warehouse), "schema": "main", "threads": 1}
    )
    (profiles / "profiles.yml").write_text(
        yaml.safe_dump({"reference": {"target": "bench", "outputs": {"bench": target}}})
    )
    return profiles


def plain_dbt_build(root: Path, warehouse: Path | dict[str, Any]) -> float:
    """``dbt build`` of the project with a hand-written profile (``hand_profiles``);
    returns its seconds."""
    profiles = hand_profiles(root, warehouse)
    dbt = Path(sys.executable).parent / "dbt"
    started = time.monotonic()
    subprocess.run(
        [
            str(dbt),
            "build",
            "--project-dir",
            str(root / "dbt"),
            "--profiles-dir",
            str(profiles),
            "--quiet",
            "--vars",
            json.dumps(dbt_vars(root)),
        ],
        check=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    return time.monotonic() - started


def arm_transform_dbt(scale: float) -> dict[str, float]:
    root = _copy_loaded(scale, "t-dbt")
    return {"seconds": plain_dbt_build(root, root / ".basin" / "dev" / "warehouse.duckdb")}


def arm_transform_sql(scale: float) -> dict[str, float]:
    """The same models' compiled SQL run by hand in one DuckDB connection, in
    dependency order (tables/views as configured, incremental models as tables,
    snapshots as a first SCD2 load, every data test queried); dbt compiles it first,
    outside the clock."""
    import duckdb

    root = _copy_loaded(scale, "t-sql")
    warehouse = root / ".basin" / "dev" / "warehouse.duckdb"
    profiles = hand_profiles(root, warehouse)
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [
            str(dbt),
            "compile",
            "--project-dir",
            str(root / "dbt"),
            "--profiles-dir",
            str(profiles),
            "--quiet",
            "--exclude",
            "test_type:unit",
            "--vars",
            json.dumps(dbt_vars(root)),
        ],
        check=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    manifest = json.loads((root / "dbt" / "target" / "manifest.json").read_text())
    nodes = {
        uid: n
        for uid, n in manifest["nodes"].items()
        if n["resource_type"] in ("model", "snapshot", "test")
    }
    order: list[str] = []
    seen: set[str] = set()

    def visit(uid: str) -> None:
        if uid in seen or uid not in nodes:
            return
        seen.add(uid)
        for dep in nodes[uid]["depends_on"]["nodes"]:
            visit(dep)
        order.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    con = duckdb.connect(str(warehouse))
    started = time.monotonic()
    for uid in order:
        node = nodes[uid]
        sql = node.get("compiled_code") or ""
        if node["resource_type"] == "test":
            con.execute(f"select count(*) from ({sql}) as t").fetchone()
            continue
        relation = f'"{node["schema"]}"."{node["alias"]}"'
        con.execute(f'create schema if not exists "{node["schema"]}"')
        if node["resource_type"] == "snapshot":
            con.execute(
                f"create or replace table {relation} as select *, current_timestamp as dbt_valid_from, "
                f"cast(null as timestamp) as dbt_valid_to from ({sql}) as s"
            )
        elif node["config"]["materialized"] == "view":
            con.execute(f"create or replace view {relation} as {sql}")
        else:
            con.execute(f"create or replace table {relation} as {sql}")
    seconds = time.monotonic() - started
    con.close()
    return {"seconds": seconds, "nodes": len(order)}


def arm_run_basin(scale: float, *, monitors: bool = True) -> dict[str, float]:
    """``basin run`` of the example; ``monitors=False``: without the monitors, SLOs,
    alerts and metrics textfile evaluated after it (their time inside the run is
    ``monitor_seconds``)."""
    root = fresh_copy(scale, "r-basin" + ("" if monitors else "-nomonitors"))
    if not monitors:
        yml = root / "basin.yml"
        yml.write_text(yml.read_text() + '\nmonitors: {enabled: false}\nmetrics: {textfile: ""}\n')
    platform = _platform(root)
    import basin.sources.sqlite.extract  # noqa: F401
    import basin.transform.runner  # noqa: F401
    from basin.pipeline.steps import monitor as monitor_step

    after = _time_calls(monitor_step, "after_run")
    metrics = _time_calls(monitor_step, "write_metrics")
    platform.store  # noqa: B018
    started = time.monotonic()
    summary = platform.run()
    seconds = time.monotonic() - started
    platform.close()
    return {
        "seconds": seconds,
        "steps": len(summary.steps),
        "monitor_seconds": after[0] + metrics[0],
    }


def arm_run_plain(scale: float) -> dict[str, float]:
    """The same flow with the plain tools, no Basin code."""
    import duckdb
    import requests

    root = fresh_copy(scale, "r-plain")
    lake = root / "plain-lake"
    lake.mkdir()
    spec = yaml.safe_load((root / "basin.yml").read_text())
    # The demo API runs in both arms; starting it is not part of the measured work.
    api = subprocess.Popen(
        [sys.executable, "saas_api.py", "--port", "8766", "--rate", "100000"], cwd=root
    )
    try:
        for _ in range(100):
            try:
                requests.get("http://127.0.0.1:8766/health", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        started = time.monotonic()
        con = duckdb.connect()
        con.execute("LOAD sqlite_scanner")
        con.execute(f"ATTACH '{root / 'data' / 'operational.db'}' AS src (TYPE sqlite, READ_ONLY)")
        for source in ("finance", "operations"):
            for table in spec["sources"][source]["tables"]:
                con.execute(
                    f"COPY (SELECT * FROM src.{table}) TO '{lake / f'{source}__{table}.parquet'}' (FORMAT parquet)"
                )
        drops = root / "drops" / "crm"
        con.execute(
            f"COPY (SELECT * FROM read_csv('{drops}/interactions_*.csv')) TO '{lake / 'crm__interactions.parquet'}' (FORMAT parquet)"
        )
        con.execute(
            f"COPY (SELECT * FROM read_json('{drops}/opportunities_*.jsonl')) TO '{lake / 'crm__opportunities.parquet'}' (FORMAT parquet)"
        )
        headers = {"Authorization": "Bearer reference-token"}
        for endpoint in ("campaigns", "email_events"):
            out = lake / f"email__{endpoint}.jsonl"
            with open(out, "w") as fh:
                cursor = "0"
                while cursor:
                    body = requests.get(
                        f"http://127.0.0.1:8766/v1/{endpoint}",
                        params={"cursor": cursor, "limit": 1000},
                        headers=headers,
                        timeout=30,
                    ).json()
                    for record in body["data"]:
                        fh.write(json.dumps(record) + "\n")
                    cursor = body["next_cursor"]
            con.execute(
                f"COPY (SELECT * FROM read_json('{out}')) TO '{lake / f'email__{endpoint}.parquet'}' (FORMAT parquet)"
            )
        con.close()
        warehouse = root / "plain.duckdb"
        wh = duckdb.connect(str(warehouse))
        wh.execute("CREATE SCHEMA raw")
        for parquet in sorted(lake.glob("*.parquet")):
            # Basin's staging reads its lineage columns; give the plain load the same two.
            wh.execute(
                f"CREATE TABLE raw.{parquet.stem} AS SELECT *, 'b1' AS _basin_batch_id, "
                f"current_timestamp AS _basin_extracted_at FROM read_parquet('{parquet}')"
            )
        wh.close()
        extract_load = time.monotonic() - started
    finally:
        api.terminate()
        api.wait(timeout=10)
    from basin.transform.package import install_package  # what `dbt deps` would do: a file copy

    install_package(root / "dbt")
    transform = plain_dbt_build(root, warehouse)
    t = time.monotonic()
    wh = duckdb.connect(str(warehouse))
    wh.execute(f"ATTACH '{root / 'published.duckdb'}' AS pub")
    wh.execute("CREATE SCHEMA pub.marts")
    for (name,) in wh.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'plain' AND schema_name = 'marts'"
    ).fetchall():
        wh.execute(f"CREATE TABLE pub.marts.{name} AS SELECT * FROM plain.marts.{name}")
    wh.close()
    publish = time.monotonic() - t
    return {
        "seconds": extract_load + transform + publish,
        "extract_load": extract_load,
        "transform": transform,
        "publish": publish,
    }


def arm_incremental(scale: float, mode: str) -> dict[str, Any]:
    """``full``: the first run on day 1. ``increment``: the run after one more day,
    following the delta; outside the clock a twin of the project runs the same day
    with every key recomputed (the ledger's build marks erased), and the published
    marts of both are compared by checksum (``equal_to_whole``). Then one more run
    with no new rows is timed (``no_new_rows``: the floor of any day)."""
    root = fresh_copy(scale, f"inc-{mode}")
    platform = _platform(root)
    import basin.transform.runner  # noqa: F401

    platform.store  # noqa: B018
    twin = None
    if mode == "increment":
        platform.run()
        run_generator(root, scale, "--add-day")
        platform.close()
        twin = root.with_name(root.name + "-whole")
        shutil.rmtree(twin, ignore_errors=True)
        shutil.copytree(root, twin, symlinks=True)
        platform = _platform(root)
        platform.store  # noqa: B018
        os.sync()
    report: dict[str, Any] = _timed_run(platform)
    if twin is not None:
        import duckdb

        with duckdb.connect(str(twin / ".basin" / "dev" / "warehouse.duckdb")) as con:
            con.execute("update _basin.load_ledger set built_run = null, built_code = null")
        whole = _platform(twin)
        whole.run()
        whole.close()
        report["equal_to_whole"] = _published(root) == _published(twin)
        shutil.rmtree(twin, ignore_errors=True)
        # The floor of a day: one more run with no new row at all (every node still
        # runs, on an empty delta) — the project's fixed cost, timed the same way.
        platform = _platform(root)
        platform.store  # noqa: B018
        report["no_new_rows"] = _timed_run(platform)
    return report


def _timed_run(platform: Any) -> dict[str, Any]:
    """One ``basin run`` of an opened platform, timed, with its steps; closes it."""
    started = time.monotonic()
    platform.run()
    seconds = time.monotonic() - started
    steps = _step_seconds(platform)
    platform.close()
    return {"seconds": seconds, "steps": steps}


def _step_seconds(platform: Any) -> dict[str, float]:
    """The last run's steps and their seconds, from the metadata store."""
    from sqlalchemy import select

    from basin.metadata.models import Run, Step

    with platform.store.session() as s:
        run_id = s.scalars(select(Run.run_id).order_by(Run.started_at.desc()).limit(1)).one()
        steps = s.execute(select(Step).where(Step.run_id == run_id)).scalars().all()
        return {
            st.name: round((st.ended_at - st.started_at).total_seconds(), 2)
            for st in steps
            if st.ended_at
        }


def _published(root: Path) -> dict[str, tuple[int, str]]:
    """Rows and an order-independent digest of every published table (Basin's own
    record of the publication, which names its run, left out)."""
    from basin.warehouses.duckdb.publish import checksums

    return checksums(root / ".basin" / "dev" / "published" / "warehouse.duckdb")


def airflow_template_db() -> Path:
    """A migrated, empty Airflow database, made once per machine (``airflow db migrate``
    takes ~15 s and is set-up, not the cost of a run)."""
    db = DATA / "airflow-template.db"
    if not db.exists():
        home = DATA / "airflow-template-home"
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
        }
        airflow = Path(sys.executable).parent / "airflow"
        subprocess.run([str(airflow), "db", "migrate"], check=True, env=env, capture_output=True)
    return db


def arm_airflow_dagtest(scale: float) -> dict[str, float]:
    from basin.config import load_project
    from basin.orchestration.airflow.environment import airflow_environment

    root = fresh_copy(scale, "af")
    yml = root / "basin.yml"
    # Airflow 3.3.2's dag.test() crashes after a successful run of a DAG with a
    # deadline (apache/airflow#73428): measure the same DAG without one.
    yml.write_text(yml.read_text().replace("  deadline: 1h", "  # deadline: 1h"))
    env = airflow_environment(root, load_project(root).config.orchestration)
    db = root / ".basin" / "airflow" / "airflow.db"
    db.parent.mkdir(parents=True)
    shutil.copyfile(airflow_template_db(), db)
    (root / ".basin" / "openlineage").mkdir(parents=True)
    os.environ.update(env)
    import runpy

    import airflow.sdk  # noqa: F401  (imports outside the clock, as in run-basin)

    import basin.sources.sqlite.extract  # noqa: F401
    import basin.transform.runner  # noqa: F401

    # The metadata store is created outside the clock, as run-basin does.
    _platform(root).store.close()
    started = time.monotonic()
    dags = runpy.run_path(str(root / "dags" / "basin_reference.py"))
    run = dags["basin_reference_dev"].test()
    seconds = time.monotonic() - started
    if not str(run.state).endswith("success"):
        raise RuntimeError(f"dag.test() ended {run.state}")
    return {"seconds": seconds}


def arm_dagster(scale: float) -> dict[str, float]:
    """The reference's job run by Dagster's own executor (``execute_in_process``, a
    temporary Dagster instance), imports and the metadata store outside the clock as in
    run-basin; the definitions are built on the clock (a code location loads them)."""
    import dagster as dg

    import basin.sources.sqlite.extract  # noqa: F401
    import basin.transform.runner  # noqa: F401
    from basin.orchestration.dagster import build_definitions

    root = fresh_copy(scale, "dg")
    _platform(root).store.close()
    with dg.instance_for_test() as instance:
        started = time.monotonic()
        job = build_definitions(root / "basin.yml").resolve_job_def("basin_reference_dev")
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        seconds = time.monotonic() - started
    if not result.success:
        raise RuntimeError("the Dagster run failed")
    return {"seconds": seconds}


PREFECT_FLOW = """
import json, sys, time
import basin.sources.sqlite.extract, basin.transform.runner
from basin.config import load_project
from basin.orchestration.prefect import build_flows
from basin.pipeline.platform import Platform
from pathlib import Path
Platform(load_project(Path(sys.argv[1]))).store.close()
import prefect.flows, prefect.task_engine
started = time.monotonic()
state = build_flows(sys.argv[1])["basin_reference_dev"](return_state=True)
print(json.dumps({"seconds": time.monotonic() - started, "state": state.type.value}))
"""


def prefect_python() -> Path:
    """Prefect's own environment (it cannot share Basin's): ``BASIN_PREFECT_PYTHON``, or
    the one the tests build (tests/orchestration/prefect_env.py)."""
    python = os.environ.get("BASIN_PREFECT_PYTHON") or str(
        Path.home() / ".cache/basin/test-venvs/prefect/venv/bin/python"
    )
    if not Path(python).exists():
        raise RuntimeError(
            f"no Prefect environment at {python}: build it with "
            "'python -m tests.orchestration.prefect_env' or set BASIN_PREFECT_PYTHON"
        )
    return Path(python)


def arm_prefect(scale: float) -> dict[str, float]:
    """The reference's flow called in Prefect's environment against a Prefect server on
    127.0.0.1 (started outside the clock, as a deployment would have it running);
    imports and the metadata store outside the clock, as in run-basin."""
    import signal
    import socket
    import urllib.request

    python = prefect_python()
    root = fresh_copy(scale, "pf")
    home = root / ".basin" / "prefect"
    home.mkdir(parents=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
    }
    with (home / "server.log").open("wb") as out:
        server = subprocess.Popen(
            [str(python.parent / "prefect"), "server", "start", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        give_up = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{env['PREFECT_API_URL']}/health", timeout=10):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > give_up:
                    raise RuntimeError("the Prefect server did not start") from None
                time.sleep(1)
        done = subprocess.run(
            [str(python), "-c", PREFECT_FLOW, str(root)],
            capture_output=True, text=True, env=env,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"the Prefect flow's process failed:\n{done.stderr[-3000:]}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["state"] != "COMPLETED":
        raise RuntimeError(f"the Prefect flow ended {report['state']}")
    return {"seconds": report["seconds"]}


ARMS = {
    "prefect": arm_prefect,
    "dagster": arm_dagster,
    "transform-basin-nolineage": lambda scale: arm_transform_basin(scale, lineage=False),
    "transform-basin-rerun": lambda scale: arm_transform_basin(scale, before=1),
    "transform-basin-nolineage-rerun": lambda scale: arm_transform_basin(
        scale, lineage=False, before=1
    ),
    "transform-basin-steady": lambda scale: arm_transform_basin(scale, before=2),
    "transform-basin-nolineage-steady": lambda scale: arm_transform_basin(
        scale, lineage=False, before=2
    ),
    "airflow-dagtest": arm_airflow_dagtest,
    "transform-basin": arm_transform_basin,
    "transform-dbt": arm_transform_dbt,
    "transform-sql": arm_transform_sql,
    "run-basin": arm_run_basin,
    "run-basin-nomonitors": lambda scale: arm_run_basin(scale, monitors=False),
    "run-plain": arm_run_plain,
    "incremental-full": lambda scale: arm_incremental(scale, "full"),
    "incremental-increment": lambda scale: arm_incremental(scale, "increment"),
}
