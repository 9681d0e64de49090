"""Configuration of the orchestration (``orchestration:`` in basin.yml)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from basin.common.types import Duration, StrictModel


class TriggersConfig(StrictModel):
    """Events that start a run besides the schedule (Airflow assets)."""

    drop_folders: bool = True
    """A new file in the folder of any ``files`` source starts a run (the triggerer
    watches the folders; files already extracted do not count)."""
    assets: list[str] = Field(default_factory=list)
    """Names of other DAGs' Airflow assets whose updates start a run (e.g. another Basin
    project's ``basin.<project>.<env>.published``)."""
    poll_interval: Duration = "30s"
    """How often the triggerer lists the drop folders."""


class CeleryConfig(StrictModel):
    """Airflow's CeleryExecutor: the scheduler queues tasks on a broker, workers run them
    (on this machine under ``basin serve``, or on others)."""

    broker_url: str = "redis://127.0.0.1:6379/0"
    """Celery's broker: Redis (``redis://host:6379/0``) or RabbitMQ (``amqp://…``); a
    password belongs in ``${env:…}``."""
    workers: int = Field(default=2, ge=1, le=32)
    """Workers ``basin serve`` starts on this machine. On other machines run
    ``airflow celery worker --queues <queue>`` with the same Airflow settings."""
    concurrency: int = Field(default=2, ge=1, le=64)
    """Tasks each worker runs at once."""
    queue: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]+$")
    """The Celery queue of the project's tasks (default: ``basin.<folder>.<hash of its
    path>``), so projects sharing a broker never run each other's tasks."""


class OrchestrationConfig(StrictModel):
    """How the scheduler runs the project."""

    orchestrator: Literal["airflow", "dagster", "prefect"] = "airflow"
    """Which scheduler ``basin serve`` starts: Airflow (a DAG per environment from the
    dags folder), Dagster (assets, a job, a schedule and sensors per environment) or
    Prefect (a flow and its deployments per environment). All render the same
    settings below."""
    schedule: str | None = None
    """Cron expression (``"0 5 * * *"``, UTC); none: only manual or event-triggered runs."""
    retries: int = Field(default=3, ge=0, le=20)
    """Retries of a failed task."""
    retry_delay_seconds: int = Field(default=60, ge=1)
    """First wait before a retry; it doubles each time (exponential backoff)."""
    max_retry_delay_seconds: int = Field(default=900, ge=1)
    """Longest wait between retries."""
    deadline: Duration | None = None
    """Publication is due this long after the run was queued (``"1h"``: a 05:00 run must
    publish by 06:00); a miss fires the deadline callback, which records an incident."""
    triggers: TriggersConfig = Field(default_factory=TriggersConfig)
    """Event-based starts."""
    environments: list[str] | None = None
    """Environments that get a DAG (default: all)."""
    max_active_tasks: int = Field(default=4, ge=1)
    """Tasks of one run at the same time."""
    dags_folder: str = "dags"
    """Folder of the project's DAG files, relative to basin.yml."""
    port: int = Field(default=8080, ge=1, le=65535)
    """Port of the orchestrator's UI and API that ``basin serve`` starts on 127.0.0.1."""
    parallelism: int = Field(default=4, ge=1)
    """Tasks running at once across all DAGs under ``basin serve``."""
    executor: Literal["local", "celery"] = "local"
    """``local``: the scheduler runs tasks itself (LocalExecutor); ``celery``: workers
    take them from a broker (CeleryExecutor; needs ``database_url`` on PostgreSQL)."""
    celery: CeleryConfig = Field(default_factory=CeleryConfig)
    """The broker and workers when ``executor: celery``."""
    database_url: str | None = None
    """Airflow's own database: a SQLAlchemy URL (a PostgreSQL database in production);
    default: a SQLite file under ``.basin/airflow``."""
