"""Configuration of monitoring (``monitors:`` in basin.yml)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr

from basin.common.types import Duration, StrictModel


class FreshnessConfig(StrictModel):
    """How old the newest data may get before it is late."""

    max_age: Duration | None = None
    """Longest time without new rows for a source entity, and without a publication
    for the published marts. Default: the longest gap between two runs of
    ``orchestration.schedule`` plus ``grace``, or 26 hours without a schedule."""
    grace: Duration = "1h"
    """Added to the schedule's gap: how late a scheduled run may be before it counts."""
    entities: dict[str, Duration] = Field(default_factory=dict)
    """Per-entity limits, ``{"crm.customers": "2h"}``."""
    exclude: list[str] = Field(default_factory=list)
    """Entities (``source.entity``) with no freshness limit, e.g. reference data that
    changes once a year."""


class VolumeConfig(StrictModel):
    """Whether an entity's newest batch holds an unusual number of rows.

    The baseline is the median of the previous ``window`` batches (the batch under test
    is never part of its own baseline) and their median absolute deviation (MAD); a
    batch is anomalous when it is more than ``threshold`` robust standard deviations
    (1.4826 × MAD, at least √median: counts vary at least as a Poisson count does) away
    from the median **and** differs from it by more than ``min_relative_change`` — a
    steady source with a tiny MAD would otherwise alarm on noise."""

    window: int = Field(default=14, ge=3, le=365)
    """Batches in the baseline."""
    min_history: int = Field(default=5, ge=2)
    """Fewer earlier batches than this: no verdict yet (``unknown``)."""
    threshold: float = Field(default=4.0, gt=0)
    """Robust z-score beyond which a batch is anomalous."""
    min_relative_change: float = Field(default=0.3, ge=0)
    """Smallest change against the median that counts (0.3: ±30%)."""
    by_weekday: bool = False
    """Compare with batches of the same weekday only (weekly seasonality)."""


class ChecksConfig(StrictModel):
    """The share of checks that pass in a build."""

    min_pass_rate: float = Field(default=0.995, ge=0, le=1)
    """Below this, the newest build's checks breach (warn and error tests alike)."""


class MonitorsConfig(StrictModel):
    """Monitors evaluated after each ``basin run`` and by ``basin monitor``, from the
    metadata store alone (no scan of any table)."""

    enabled: bool = True
    """Evaluate monitors after each run."""
    freshness: FreshnessConfig = Field(default_factory=FreshnessConfig)
    """Late data."""
    volume: VolumeConfig = Field(default_factory=VolumeConfig)
    """Unusual batch sizes."""
    schema_drift: bool = True
    """An additive change of a source entity's columns opens a ``warn`` incident (a
    breaking change always opens an ``error`` one and quarantines its batch)."""
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    """Check pass rate."""


class ChannelBase(StrictModel):
    """Which incidents a channel hears about, and when."""

    min_severity: Literal["warn", "error"] = "warn"
    """``error``: only incidents that block or fail; ``warn``: all."""
    kinds: list[str] = Field(default_factory=list)
    """Only these incident kinds (``freshness_breach``, ``volume_anomaly``,
    ``schema_drift``, ``schema_breaking``, ``check_pass_rate``, ``gate_failed``,
    ``run_failed``, ``deadline_missed``, ``slo_burn``); empty: every kind."""
    subjects: list[str] = Field(default_factory=list)
    """Only incidents about these subjects, as ``source.entity`` globs (``crm.*``);
    empty: every subject."""
    owners: list[str] = Field(default_factory=list)
    """Only incidents about datasets one of these owns (dbt ``meta.owner`` or a source's
    ``owner``, as the catalog records it); empty: any owner."""
    tags: list[str] = Field(default_factory=list)
    """Only incidents about datasets with one of these tags (dbt tags); empty: any."""
    quiet_hours: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    """``"22:00-07:00"`` (UTC): ``warn`` incidents wait until the window ends; ``error``
    ones are sent at once."""
    renotify: Duration | None = None
    """Send an open, unacknowledged incident again after this long (``"4h"``)."""


class SlackChannel(ChannelBase):
    """A Slack incoming webhook (a Block Kit message per event)."""

    kind: Literal["slack"]
    """Channel kind."""
    url: SecretStr
    """The webhook's URL (it is the credential: keep it in ``.env``)."""


class WebhookChannel(ChannelBase):
    """Any HTTP endpoint: the incident as JSON, POSTed per event."""

    kind: Literal["webhook"]
    """Channel kind."""
    url: SecretStr
    """Where to POST."""
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    """Extra headers (an ``Authorization`` token)."""


class PagerDutyChannel(ChannelBase):
    """PagerDuty Events API v2: trigger, acknowledge and resolve one alert per
    incident, its ``dedup_key`` the incident's fingerprint."""

    kind: Literal["pagerduty"]
    """Channel kind."""
    routing_key: SecretStr
    """The integration's routing key."""
    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    """The Events API endpoint."""


class EmailChannel(ChannelBase):
    """E-mail through an SMTP server (HTML and plain text)."""

    kind: Literal["email"]
    """Channel kind."""
    to: list[str] = Field(min_length=1)
    """Recipients."""
    sender: str = "basin@localhost"
    """From address."""
    smtp_host: str = "localhost"
    """SMTP server."""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    """SMTP port (587 with ``starttls``)."""
    starttls: bool = False
    """Upgrade the connection with STARTTLS before logging in."""
    username: str | None = None
    """SMTP login, if the server wants one."""
    password: SecretStr | None = None
    """SMTP password."""


Channel = Annotated[
    SlackChannel | WebhookChannel | PagerDutyChannel | EmailChannel, Field(discriminator="kind")
]
"""An alert channel; ``kind`` picks its module under ``basin/observe/channels/``."""


class AlertsConfig(StrictModel):
    """Where incidents are sent. A delivery that fails is retried, recorded, and tried
    again at the next run or ``basin monitor``; it never fails a run."""

    channels: dict[str, Channel] = Field(default_factory=dict)
    """Name → channel."""
    attempts: int = Field(default=3, ge=1, le=10)
    """Tries per delivery before it is recorded as failed (waiting 0.5 s, 1 s, …)."""
    timeout_seconds: float = Field(default=10, gt=0)
    """Per request."""
    link: str | None = None
    """A URL shown with each alert (the team's Airflow or Basin UI)."""


class MetricsConfig(StrictModel):
    """Prometheus metrics of the project (``basin_…``), read from the metadata store."""

    textfile: str | None = "metrics/basin.prom"
    """Written after every ``basin run`` for node-exporter's textfile collector,
    relative to the environment's state folder (``.basin/<env>/``); empty: not written."""
    port: int = Field(default=9464, ge=1, le=65535)
    """Port of ``basin metrics --serve`` on 127.0.0.1."""
    serve: bool = True
    """``basin serve`` serves them too, on ``port``, for every environment the DAGs run
    (each labelled ``env``)."""


class SloConfig(StrictModel):
    """Service-level objectives, judged over rolling windows from the metadata store."""

    windows_days: list[int] = Field(default_factory=lambda: [7, 28])
    """Rolling windows the attainment and error budget are reported over."""
    job_success: float = Field(default=0.99, gt=0, lt=1)
    """Share of runs that succeed."""
    fresh_within: Duration = "15m"
    """A scheduled run's marts count as fresh when published this long after the
    schedule's time at the latest."""
    freshness: float = Field(default=0.99, gt=0, lt=1)
    """Share of scheduled times (``orchestration.schedule``) followed by a publication
    within ``fresh_within``."""
    data_quality: float = Field(default=0.995, gt=0, lt=1)
    """Share of checks that pass."""
    burn_alert: float = Field(default=1.0, gt=0)
    """An SLO whose error budget over the longest window burns at this rate or faster
    (1.0: failures use up exactly the budget) opens an incident."""
    min_events: int = Field(default=10, ge=1)
    """Runs (for freshness: scheduled times) the longest window must hold before an
    SLO is judged: one failure among three runs is noise, not a trend."""
