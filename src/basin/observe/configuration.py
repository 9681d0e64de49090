"""Configuration of monitoring (``monitors:`` in basin.yml)."""

from __future__ import annotations

from pydantic import Field

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
    (1.4826 × MAD) away from the median **and** differs from it by more than
    ``min_relative_change`` — a steady source with a tiny MAD would otherwise alarm on
    noise."""

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
