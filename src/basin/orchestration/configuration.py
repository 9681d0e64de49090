"""Configuration of the orchestration (``orchestration:`` in basin.yml)."""

from __future__ import annotations

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


class OrchestrationConfig(StrictModel):
    """How the scheduler runs the project."""

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
    """Port of the Airflow UI and API that ``basin serve`` starts on 127.0.0.1."""
    parallelism: int = Field(default=4, ge=1)
    """Tasks running at once across all DAGs under ``basin serve`` (LocalExecutor)."""
    database_url: str | None = None
    """Airflow's own database: a SQLAlchemy URL (a PostgreSQL database in production);
    default: a SQLite file under ``.basin/airflow``."""
