"""Dagster definitions from basin.yml: the same plan as Airflow's DAG, run by Dagster's
own executor (``execute_in_process`` against a real, temporary Dagster instance):
the reference platform publishes what ``basin run`` publishes, a failed gate fails
the run and publishes nothing, a transient error is retried after growing waits, a
terminal one is not retried."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.orchestration.common import assert_basin_lineage, with_rest_source
from tests.reference_runs import checksums

dg = pytest.importorskip("dagster")

SCALE = "0.002"


def definitions(project: Path) -> Any:
    from basin.orchestration.dagster import build_definitions

    return build_definitions(project / "basin.yml")


def execute(project: Path, job: str, instance: Any) -> Any:
    return (
        definitions(project)
        .resolve_job_def(job)
        .execute_in_process(instance=instance, raise_on_error=False)
    )


def step_events(result: Any, kind: str) -> list[Any]:
    return [e for e in result.all_events if e.event_type_value == kind]


def test_definitions_render_the_plan(reference: Path) -> None:
    from basin.orchestration.plan import plan

    p = plan(reference, "dev")
    defs = definitions(reference)
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    raw = {f"basin_reference_dev/raw/{t.entity.replace('.', '/')}" for t in p.extracts()}
    assert raw and raw <= keys
    assert {"basin_reference_dev/warehouse", "basin_reference_dev/audit"} <= keys
    assert "basin_reference_dev/published" in keys
    assert "basin_reference_dev/marts/customer_360" in keys  # a published model
    graph = repo.asset_graph
    audit = dg.AssetKey(["basin_reference_dev", "audit"])
    assert graph.get(audit).parent_keys == {dg.AssetKey(["basin_reference_dev", "warehouse"])}
    assert {c.name for c in graph.get(audit).check_keys} == {"quality_gate"}
    [schedule] = [s for s in repo.schedule_defs if s.name == "basin_reference_dev_schedule"]
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 5 * * *", "UTC")
    sensors = {s.name for s in repo.sensor_defs}
    assert {
        "basin_reference_dev_drops_crm",  # the CRM export's drop folder
        "basin_reference_dev_failed",
        "basin_reference_dev_succeeded",
        "basin_reference_dev_deadline",  # deadline: 1h
    } <= sensors


def test_the_reference_published_through_dagster_equals_basin_run(
    reference: Path, tmp_path: Path
) -> None:
    subprocess.run(
        [sys.executable, str(reference / "generator.py"), "--root", str(reference)]
        + ["--scale", SCALE],
        check=True,
        capture_output=True,
    )
    twin = tmp_path / "twin"
    shutil.copytree(reference, twin)
    basin = Path(sys.executable).parent / "basin"
    done = subprocess.run(
        [str(basin), "--project", str(twin), "run"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr

    with dg.instance_for_test() as instance:
        result = execute(reference, "basin_reference_dev", instance)
        assert result.success, [e.message for e in step_events(result, "STEP_FAILURE")]
        materialized = {
            e.asset_key.to_user_string() for e in step_events(result, "ASSET_MATERIALIZATION")
        }
        assert "basin_reference_dev/marts/customer_360" in materialized
        checked = {
            (e.event_specific_data.asset_key.path[-1], e.event_specific_data.check_name): (
                e.event_specific_data
            )
            for e in step_events(result, "ASSET_CHECK_EVALUATION")
        }
        assert checked[("audit", "quality_gate")].passed
        # Basin's checks of each published model, as that asset's check.
        c360 = checked[("customer_360", "basin_tests")]
        assert c360.passed and c360.metadata["checks"].value >= 3, c360.metadata
    published = "/.basin/dev/published/warehouse.duckdb"
    assert checksums(Path(f"{reference}{published}"), ["marts"]) == checksums(
        Path(f"{twin}{published}"), ["marts"]
    )
    # Lineage: Basin's own OpenLineage events (Dagster's integration was measured
    # broken), a START and COMPLETE per step, column lineage on the marts.
    assert_basin_lineage(reference)
    # Each task is in the audit log by Dagster's service identity.
    from basin.access.audit import entries
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    platform = Platform(load_project(reference))
    logged = {e.command: (e.actor, e.outcome) for e in entries(platform.store)}
    platform.close()
    assert logged["dagster publish"] == ("service:dagster", "success")


def test_a_failed_gate_fails_the_run_and_publishes_nothing(project: Path) -> None:
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "7,t@example.org,99.00,lost,2026-01-07 10:00:00\n"
    )
    yml = project / "basin.yml"
    yml.write_text(yml.read_text() + "\norchestration:\n  retries: 2\n  retry_delay_seconds: 1\n")
    with dg.instance_for_test() as instance:
        result = execute(project, "basin_proj_dev", instance)
        assert not result.success
        [failure] = step_events(result, "STEP_FAILURE")
        assert failure.step_key == "basin_proj_dev__audit"
        assert "accepted_values" in failure.event_specific_data.error.message
        assert step_events(result, "STEP_RESTARTED") == []  # terminal: not retried
        started = {e.step_key for e in step_events(result, "STEP_START")}
        assert "basin_proj_dev__publish" not in started
    assert not (project / ".basin" / "dev" / "published" / "warehouse.duckdb").exists()


def test_a_transient_error_is_retried_after_growing_waits(project: Path) -> None:
    from tests.sources.rest.fake_api import TOKEN, FakeApi

    api = FakeApi().start()
    api.records = [{"id": 1, "name": "a", "updated_at": "2026-01-01T00:00:00"}]
    api.fail[("/pages", "1")] = [503, 503]  # the first two attempts of the task fail
    try:
        with_rest_source(
            project,
            api.url,
            TOKEN,
            "  retries: 2\n  retry_delay_seconds: 1\n  max_retry_delay_seconds: 30\n",
        )
        with dg.instance_for_test() as instance:
            result = execute(project, "basin_proj_dev", instance)
            logs = instance.all_logs(result.run_id)
    finally:
        api.stop()
    assert result.success, [e.message for e in step_events(result, "STEP_FAILURE")]
    step = "basin_proj_dev__raw__mail__pages"
    ups = [e for e in step_events(result, "STEP_UP_FOR_RETRY") if e.step_key == step]
    assert [e.event_specific_data.seconds_to_wait for e in ups] == [1, 2]  # doubling

    def at(kind: str) -> list[float]:
        return [
            e.timestamp
            for e in logs
            if e.dagster_event
            and e.dagster_event.event_type_value == kind
            and e.dagster_event.step_key == step
        ]

    gaps = [b - a for a, b in zip(at("STEP_UP_FOR_RETRY"), at("STEP_RESTARTED"), strict=True)]
    assert len(gaps) == 2 and gaps[0] >= 1 and gaps[1] >= 2, gaps  # the waits were kept
    assert (project / ".basin" / "dev" / "published" / "warehouse.duckdb").exists()


def test_a_terminal_error_fails_at_once_without_retries(project: Path) -> None:
    from tests.sources.rest.fake_api import FakeApi

    api = FakeApi().start()
    api.records = [{"id": 1, "name": "a", "updated_at": "2026-01-01T00:00:00"}]
    try:
        with_rest_source(project, api.url, "wrong", "  retries: 3\n  retry_delay_seconds: 1\n")
        with dg.instance_for_test() as instance:
            result = execute(project, "basin_proj_dev", instance)
    finally:
        api.stop()
    assert not result.success
    assert step_events(result, "STEP_UP_FOR_RETRY") == []
    assert len([r for r in api.requests if r[0] == "/pages"]) == 1  # a 401 is asked once
    assert not (project / ".basin" / "dev" / "published" / "warehouse.duckdb").exists()


def sensor(defs: Any, name: str) -> Any:
    return defs.get_repository_def().get_sensor_def(name)


def test_the_failure_sensor_opens_the_incident_basin_run_would(project: Path) -> None:
    """Dagster has no failure callback or teardown task: a run-failure sensor records
    the failed gate as Basin's incident and runs the monitors; the next published run
    resolves it (as in Airflow)."""
    from basin.config import load_project
    from basin.observe.incidents import GATE
    from basin.pipeline.platform import Platform

    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "7,t@example.org,99.00,lost,2026-01-07 10:00:00\n"
    )
    defs = definitions(project)
    with dg.instance_for_test() as instance:
        result = execute(project, "basin_proj_dev", instance)
        assert not result.success
        context = dg.build_run_status_sensor_context(
            sensor_name="basin_proj_dev_failed",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        sensor(defs, "basin_proj_dev_failed")(context)
        platform = Platform(load_project(project))
        [incident] = platform.store.incidents(open_only=True)
        assert incident.kind == "gate_failed" and (incident.source, incident.entity) == GATE
        assert "accepted_values" in incident.message
        assert platform.store.monitor_results()  # the monitors ran after the failure
        platform.close()

        models = project / "dbt" / "models" / "staging" / "shop" / "_shop__models.yml"
        models.write_text(
            models.read_text().replace(
                "[paid, pending, refunded]", "[paid, pending, refunded, lost]"
            )
        )
        assert execute(project, "basin_proj_dev", instance).success
    platform = Platform(load_project(project))
    assert platform.store.incidents(open_only=True) == []
    platform.close()


def test_drop_folder_and_upstream_sensors_request_runs(project: Path) -> None:
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text()
        + "\norchestration:\n  triggers:\n    assets: [basin_upstream_dev.published]\n"
    )
    defs = definitions(project)
    drops = sensor(defs, "basin_proj_dev_drops_shop")
    with dg.instance_for_test() as instance:
        # A file that landed while nothing watched starts a run.
        first = drops.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert len(first.run_requests) == 1
        # Seen, unchanged: nothing; a new file: a run.
        context = dg.build_sensor_context(instance=instance, cursor=first.cursor)
        again = drops.evaluate_tick(context)
        assert again.run_requests == []
        (project / "drops" / "shop" / "orders_002.csv").write_text(
            "order_id,customer_email,amount,status,ordered_at\n"
            "7,t@example.org,9.00,paid,2026-01-07 10:00:00\n"
        )
        context = dg.build_sensor_context(instance=instance, cursor=again.cursor)
        new = drops.evaluate_tick(context)
        assert len(new.run_requests) == 1 and "orders_002.csv" in new.run_requests[0].run_key

        # Another project's publication (its Dagster asset) starts a run.
        upstream = sensor(defs, "basin_proj_dev_after_basin_upstream_dev")
        context = dg.build_sensor_context(instance=instance, definitions=defs)
        assert upstream.evaluate_tick(context).run_requests == []
        instance.report_runless_asset_event(
            dg.AssetMaterialization(dg.AssetKey(["basin_upstream_dev", "published"]))
        )
        context = dg.build_sensor_context(instance=instance, definitions=defs)
        assert len(upstream.evaluate_tick(context).run_requests) == 1

    # After `basin run` took the files, a sensor starting afresh sees nothing new.
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    platform = Platform(load_project(project))
    platform.run()
    platform.close()
    with dg.instance_for_test() as instance:
        assert drops.evaluate_tick(dg.build_sensor_context(instance=instance)).run_requests == []


def test_a_run_past_its_deadline_is_an_incident(project: Path) -> None:
    import time

    from basin.config import load_project
    from basin.pipeline.platform import Platform

    yml = project / "basin.yml"
    yml.write_text(yml.read_text() + "\norchestration:\n  deadline: 1s\n")
    defs = definitions(project)
    late = sensor(defs, "basin_proj_dev_deadline")
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("basin_proj_dev")
        run = instance.create_run_for_job(job)  # queued, never finished
        time.sleep(1.5)
        tick = late.evaluate_tick(dg.build_sensor_context(instance=instance))
        # Once per run: the next tick does not alert again.
        late.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=tick.cursor))
        assert run.run_id in tick.cursor
    platform = Platform(load_project(project))
    [incident] = platform.store.incidents(open_only=True)
    assert incident.kind == "deadline_missed" and "basin_proj_dev" in incident.message
    platform.close()
