"""Dagster: the project's plan as assets, a job, a schedule and sensors.

A code location file (what ``basin serve --orchestrator dagster`` writes)::

    from basin.orchestration.dagster import build_definitions
    defs = build_definitions("/path/to/basin.yml")
"""

from basin.orchestration.dagster.definitions import build_definitions

__all__ = ["build_definitions"]
