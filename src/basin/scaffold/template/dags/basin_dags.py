"""This project's Airflow DAGs, one per environment: configuration only, see basin.yml.

`basin serve` runs them on 127.0.0.1; in production point Airflow's dags_folder here.
"""

from pathlib import Path

from basin.orchestration.airflow import build_dags

globals().update(build_dags(Path(__file__).resolve().parent.parent / "basin.yml"))
