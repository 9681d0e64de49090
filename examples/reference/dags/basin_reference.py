"""The reference platform's DAGs: configuration only, everything else is in basin.yml."""

from pathlib import Path

from basin.orchestration.airflow import build_dags

globals().update(build_dags(Path(__file__).resolve().parent.parent / "basin.yml"))
