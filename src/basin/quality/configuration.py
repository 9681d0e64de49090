"""Configuration of the quality gate (``quality:`` in basin.yml)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from basin.common.types import Duration, StrictModel

Severity = Literal["error", "warn"]


class ExpectationSuite(StrictModel):
    """A Great Expectations suite (JSON) run as Basin's single-scan table contract."""

    suite: str
    """Path of the suite's JSON file, relative to basin.yml."""
    model: str
    """The dbt model the suite checks."""
    severity: Severity = "error"
    """``error`` blocks publication when the suite fails; ``warn`` records and alerts."""


class QualityConfig(StrictModel):
    """How check results decide publication."""

    severity: dict[str, Severity] = Field(default_factory=dict)
    """Default severity of the tests of each dbt layer (model folder), e.g.
    ``{staging: warn, marts: error}``; read by ``+severity`` in dbt_project.yml through
    ``var('basin_severity')``. ``error`` blocks publication, ``warn`` records and alerts."""
    block_on_warn: bool = False
    """Hold a build with warnings back until someone runs ``basin publish --run <id>``."""
    whole_tests_every: Duration | None = "7 days"
    """A whole build follows the delta (its tests read the new rows, its incremental
    models recompute the keys they touched); when the last build that tested every row
    and recomputed every key passed longer ago than this, the next one does that again
    (the DAG's daily run does it weekly by default). None: only ``basin check`` tests
    every row."""
    sample_rows: int = Field(default=5, ge=0, le=100)
    """Failing rows kept with each failed check."""
    expectation_suites: list[ExpectationSuite] = Field(default_factory=list)
    """Great Expectations suites to run as part of the gate."""
