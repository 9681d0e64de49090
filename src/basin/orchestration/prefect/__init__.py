"""Prefect 3: the project's plan as a flow per environment, deployments with its
schedule and triggers, served by ``basin serve --orchestrator prefect``.

Prefect is imported only when flows are built. It lives in its own environment
(``pip install 'basin[prefect]'``, constraints/prefect-py311.txt): its FastAPI and
certifi bounds exclude Airflow's.
"""

from typing import Any


def build_flows(basin_yml: Any) -> Any:
    """``{flow name: flow}`` for the project's environments (see ``flows.py``)."""
    from basin.orchestration.prefect.flows import build_flows as build

    return build(basin_yml)


__all__ = ["build_flows"]
