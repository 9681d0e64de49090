"""Apache Airflow 3.3: a DAG per environment, built from basin.yml by one factory call.

A DAG file is configuration only::

    from pathlib import Path
    from basin.orchestration.airflow import build_dags

    globals().update(build_dags(Path(__file__).parent.parent / "basin.yml"))
"""

from basin.orchestration.airflow.dag_factory import build_dags

__all__ = ["build_dags"]
