"""Dagster: the project's plan as assets, a job, a schedule and sensors.

A code location file (what ``basin serve --orchestrator dagster`` writes)::

    from basin.orchestration.dagster import build_definitions
    defs = build_definitions("/path/to/basin.yml")

Dagster is imported only when the definitions are built (``serve`` does not need it).
"""

from typing import Any


def build_definitions(basin_yml: Any) -> Any:
    """The definitions of every environment of the project (see ``definitions.py``)."""
    from basin.orchestration.dagster.definitions import build_definitions as build

    return build(basin_yml)


__all__ = ["build_definitions"]
