"""Dagster definitions from basin.yml: the rendering of the same orchestrator-neutral
:class:`~basin.orchestration.plan.Plan` Airflow's DAG factory renders.

Per environment (asset keys under ``basin_<project>_<env>``):

- an asset per source entity (``raw/<source>/<entity>``: its extract, in parallel);
- ``warehouse`` (the load of every new batch), ``audit`` (Basin's transform: the dbt
  build into the audit schemas with its tests — the quality gate — as one asset, with
  the gate as a blocking asset check), then ``published`` and one asset per published
  model (the publish: a multi-asset, so the catalog shows each mart), each with the
  asset check ``basin_tests``: Basin's checks of that model in the gate it passed;
- a job over them, the cron schedule, a sensor per ``files`` source's drop folder, a
  sensor per upstream publication (another project's ``…/published`` asset), a
  deadline sensor, and run-status sensors that run the monitors after every run and
  record a failed run as an incident (Dagster has no teardown task).

dbt runs as one ``audit`` asset, not as dagster-dbt's asset per model: dagster-dbt
would run plain ``dbt build``, without Basin's delta, shadow project, expectations,
gate and lineage, and one build lets the gate see every test before anything is
published. Retries follow the plan's policy exactly (first delay doubling up to the
ceiling, through ``RetryRequested``; Dagster's own exponential backoff has no
ceiling); a terminal error fails at once.

Nothing touches a database or the network while the definitions load.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import (
    AssetExecutionContext,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorEvaluationContext,
)

from basin.orchestration.plan import Plan, Task, environments, plan

ACTOR = "service:dagster"
RECORDED = "basin/incident_recorded"


def build_definitions(basin_yml: str | Path) -> dg.Definitions:
    """The definitions of every environment of the project (``orchestration.environments``)."""
    from basin.config import load_project

    path = Path(basin_yml)
    root = path.parent if path.is_file() else path
    parts = [render(plan(root, env)) for env in environments(load_project(root))]
    return dg.Definitions.merge(*parts)


def key(p: Plan, *parts: str) -> dg.AssetKey:
    return dg.AssetKey([p.name, *parts])


def published_models(p: Plan) -> list[tuple[str, str]]:
    """``(schema, model)`` of every model the publish step publishes, from the dbt
    project's files (a model's folder under models/ names its schema)."""
    from basin.config import load_project

    project = load_project(Path(p.project), p.env)
    models = project.dbt_project_dir / "models"
    found = []
    for schema in project.config.publish.schemas:
        found += [(schema, f.stem) for f in sorted((models / schema).rglob("*.sql"))]
    return found


def render(p: Plan) -> dg.Definitions:
    """The assets, job, schedule and sensors of one plan."""
    assets: list[Any] = [_extract_asset(p, t) for t in p.extracts()]
    assets += [_load_asset(p), _transform_asset(p), _publish_asset(p)]
    job = dg.define_asset_job(
        p.name,
        selection=dg.AssetSelection.assets(*assets),
        description=p.description,
        tags={"basin/project": p.project, "basin/env": p.env},
    )
    schedules = []
    if p.schedule:
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{p.name}_schedule",
                job=job,
                cron_schedule=p.schedule,
                execution_timezone="UTC",
            )
        )
    sensors = [_drop_folder_sensor(p, job, f) for f in p.drop_folders]
    sensors += [_upstream_sensor(p, job, upstream) for upstream in p.upstream]
    sensors += _run_status_sensors(p, job)
    if p.deadline:
        sensors.append(_deadline_sensor(p, job))
    return dg.Definitions(assets=assets, jobs=[job], schedules=schedules, sensors=sensors)


# --- running a task -------------------------------------------------------------------


def _run(context: Any, p: Plan, task: Task) -> dict[str, Any]:
    """One task of the plan: audited as ``dagster <task>``; a transient error is retried
    after the plan's delay for this retry, a terminal one fails the run at once."""
    from basin.common.redaction import redact
    from basin.orchestration import steps

    run_id = context.run.run_id
    try:
        with steps.audited(p.project, p.env, f"dagster {task.id}", run_id, ACTOR) as platform:
            return steps.execute(platform, task, run_id)
    except Exception as exc:
        message = redact(f"{type(exc).__name__}: {exc}")
        retry = context.retry_number + 1  # this attempt's number, and the next retry's
        if steps.gives_up(exc, retry, p.retry.retries):
            # The task's last attempt: its incident now, from the exception itself (a
            # failed gate is a failed gate), as Airflow's failure callback does.
            steps.task_failed(p.project, p.env, task.id, run_id, exc)
            raise dg.Failure(
                description=message, metadata={RECORDED: True}, allow_retries=False
            ) from None
        wait = p.retry.delay(retry).total_seconds()
        context.log.warning(f"{task.id}: {message}; retry {retry} in {wait:g} s")
        raise dg.RetryRequested(max_retries=p.retry.retries, seconds_to_wait=wait) from None


def _metadata(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, int | float | str) else json.dumps(v, default=str)
        for k, v in summary.items()
    }


def _extract_asset(p: Plan, task: Task) -> Any:
    source, entity = (task.entity or "").split(".", 1)

    @dg.asset(
        key=key(p, "raw", source, entity),
        group_name=p.name,
        description=f"{task.entity}: its batches in the lake (extract)",
        op_tags={"basin/task": task.id},
    )
    def extract(context: AssetExecutionContext) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=_metadata(_run(context, p, task)))

    return extract


def _load_asset(p: Plan) -> Any:
    task = p.task("load")

    @dg.asset(
        key=key(p, "warehouse"),
        deps=[key(p, "raw", *t.entity.split(".", 1)) for t in p.extracts() if t.entity],
        group_name=p.name,
        description="Every new batch loaded into the warehouse's raw schema, exactly once",
    )
    def load(context: AssetExecutionContext) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=_metadata(_run(context, p, task)))

    return load


def _transform_asset(p: Plan) -> Any:
    task = p.task("transform")
    gate = dg.AssetCheckSpec("quality_gate", asset=key(p, "audit"), blocking=True)

    @dg.asset(
        key=key(p, "audit"),
        deps=[key(p, "warehouse")],
        group_name=p.name,
        description="dbt build into the audit schemas, with every test: the quality gate",
        check_specs=[gate],
    )
    def transform(context: AssetExecutionContext) -> Any:
        summary = _run(context, p, task)  # a failed gate raises: nothing downstream runs
        yield dg.MaterializeResult(
            metadata=_metadata(summary),
            check_results=[
                dg.AssetCheckResult(
                    check_name="quality_gate", passed=True, metadata=_metadata(summary)
                )
            ],
        )

    return transform


def _publish_asset(p: Plan) -> Any:
    task = p.task("publish")
    marts = [
        dg.AssetSpec(
            key(p, schema, model),
            deps=[key(p, "audit")],
            group_name=p.name,
            description=f"published {schema}.{model}",
        )
        for schema, model in published_models(p)
    ]
    specs = [
        dg.AssetSpec(
            key(p, "published"),
            deps=[key(p, "audit")],
            group_name=p.name,
            description="The publication: marts that passed the gate, swapped in at once",
        ),
        *marts,
    ]

    checks = [dg.AssetCheckSpec("basin_tests", asset=mart.key) for mart in marts]

    @dg.multi_asset(specs=specs, check_specs=checks, name=f"{p.name}__publish")
    def publish(context: AssetExecutionContext) -> Any:
        summary = _run(context, p, task)
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key, metadata=_metadata(summary))
        tested = _tests_of_the_gate(p)
        for mart in marts:
            yield _check_result(mart.key, tested.get(mart.key.path[-1], []))

    return publish


def _tests_of_the_gate(p: Plan) -> dict[str, list[Any]]:
    """The checks of the newest build (the gate this publication passed), by model."""
    from basin.orchestration import steps

    with steps.opened(p.project, p.env) as platform:
        last = platform.store.check_results(limit=1)
        newest = platform.store.check_results(last[0].run_id) if last else []
    by_model: dict[str, list[Any]] = {}
    for r in newest:
        by_model.setdefault(r.model or "", []).append(r)
    return by_model


def _check_result(asset: dg.AssetKey, checks: list[Any]) -> dg.AssetCheckResult:
    """Basin's checks of one published model (dbt tests and Basin's own) as one Dagster
    asset check: passed unless one failed; a warning's severity when one warned."""
    counts: dict[str, int] = {}
    for c in checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    failed = [c.name for c in checks if c.status in ("fail", "error")]
    warned = [c.name for c in checks if c.status == "warn"]
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name="basin_tests",
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN
        if warned and not failed
        else dg.AssetCheckSeverity.ERROR,
        metadata={
            "checks": len(checks),
            **{status: n for status, n in sorted(counts.items())},
            **({"warned": ", ".join(warned[:20])} if warned else {}),
            **({"failed": ", ".join(failed[:20])} if failed else {}),
        },
    )


# --- triggers and incidents -----------------------------------------------------------


def _drop_folder_sensor(p: Plan, job: Any, folder: Any) -> Any:
    """A run when a file lands in the folder; files the source already took, or that a
    sensor tick already saw unchanged, do not count."""
    interval = max(1, int(p.poll_interval.total_seconds()))

    @dg.sensor(
        name=f"{p.name}_drops_{folder.source}",
        job=job,
        minimum_interval_seconds=interval,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def drops(context: SensorEvaluationContext) -> Any:
        from basin.orchestration.drops import already_extracted, list_drop_folder

        listing = list_drop_folder(folder.directory, list(folder.globs))
        if context.cursor is None:
            taken = already_extracted(p.project, p.env, folder.source)
            seen = {path: list(sig) for path, sig in listing.items() if path in taken}
        else:
            seen = json.loads(context.cursor)
        new = sorted(path for path, sig in listing.items() if seen.get(path) != list(sig))
        context.update_cursor(json.dumps({path: list(sig) for path, sig in listing.items()}))
        if not new:
            return dg.SkipReason(f"no new file in {folder.directory}")
        return dg.RunRequest(
            run_key=f"{folder.source}:{json.dumps(new)}:{max(listing[n][1] for n in new)}",
            tags={"basin/trigger": f"drops:{folder.source}"},
        )

    return drops


def _upstream_sensor(p: Plan, job: Any, upstream: str) -> Any:
    """A run when another project publishes (its ``<name>/published`` asset)."""
    name, _, leaf = upstream.rpartition(".")

    @dg.asset_sensor(
        asset_key=dg.AssetKey([name, leaf]),
        name=f"{p.name}_after_{name}",
        job=job,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def after(context: SensorEvaluationContext, asset_event: Any) -> Any:
        return dg.RunRequest(
            run_key=f"{upstream}:{asset_event.timestamp}",
            tags={"basin/trigger": f"upstream:{upstream}"},
        )

    return after


def _run_status_sensors(p: Plan, job: Any) -> list[Any]:
    """After every run of the job, the monitors (Airflow's teardown task). A task's
    last failed attempt records its incident itself; a run that failed outside a task's
    body (a killed process) gets its incident here."""
    from basin.orchestration import steps

    @dg.run_failure_sensor(
        name=f"{p.name}_failed",
        monitored_jobs=[job],
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def failed(context: RunFailureSensorContext) -> None:
        failures = context.get_step_failure_events()
        recorded = any(
            (f.step_failure_data.user_failure_data is not None)
            and RECORDED in f.step_failure_data.user_failure_data.metadata
            for f in failures
        )
        if not recorded:
            # Failed outside a task's body (killed, out of memory, bad definitions).
            run_id = context.dagster_run.run_id
            error = failures[0].step_failure_data.error if failures else None
            message = error.message if error else context.failure_event.message
            step = (failures[0].step_key if failures else None) or "run"
            cause = RuntimeError((message or "the run failed").strip())
            steps.task_failed(p.project, p.env, step, run_id, cause)
        with steps.opened(p.project, p.env) as platform:
            steps.observe(platform)

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name=f"{p.name}_succeeded",
        monitored_jobs=[job],
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def succeeded(context: RunStatusSensorContext) -> None:
        with steps.opened(p.project, p.env) as platform:
            steps.observe(platform)

    return [failed, succeeded]


def _deadline_sensor(p: Plan, job: Any) -> Any:
    """A run of the job not done ``deadline`` after it was created: the deadline incident
    (once per run; the next publication resolves it)."""
    assert p.deadline is not None
    deadline = p.deadline

    @dg.sensor(
        name=f"{p.name}_deadline",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def late(context: SensorEvaluationContext) -> Any:
        from basin.orchestration import steps

        alerted = set(json.loads(context.cursor or "[]"))
        now = datetime.now(UTC).timestamp()
        runs = context.instance.get_runs(filters=dg.RunsFilter(job_name=job.name), limit=20)
        for run in runs:
            record = context.instance.get_run_record_by_id(run.run_id)
            if run.run_id in alerted or record is None or run.status == dg.DagsterRunStatus.SUCCESS:
                continue
            created = record.create_timestamp.timestamp()
            if now > created + deadline.total_seconds():
                steps.deadline_missed(p.project, p.env, p.name)
                alerted.add(run.run_id)
        context.update_cursor(json.dumps(sorted(alerted)[-100:]))
        return dg.SkipReason("deadline checked")

    return late
