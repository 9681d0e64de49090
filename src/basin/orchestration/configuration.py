"""Configuration of the orchestration (``orchestration:`` in basin.yml)."""

from __future__ import annotations

from pydantic import Field

from basin.core.types import StrictModel


class OrchestrationConfig(StrictModel):
    """How the scheduler runs the project."""

    schedule: str | None = None
    """Cron expression (``"0 5 * * *"``); none: only manual or event-triggered runs."""
    retries: int = Field(default=3, ge=0, le=20)
    """Retries of a failed task."""
    retry_delay_seconds: int = Field(default=60, ge=1)
    """First wait before a retry; it doubles each time (exponential backoff)."""
    max_retry_delay_seconds: int = Field(default=900, ge=1)
    """Longest wait between retries."""
    deadline_minutes: int | None = Field(default=None, ge=1)
    """Publication is due this many minutes after the run's logical date (e.g. a 05:00
    schedule with 60 means "published by 06:00"); a miss fires the deadline callback."""
    environments: list[str] | None = None
    """Environments that get a DAG (default: all)."""
    max_active_tasks: int = Field(default=4, ge=1)
    """Tasks of one run at the same time."""
