"""The Airflow settings of a Basin project, as environment variables.

One place decides where Airflow keeps its home, database, logs and OpenLineage
events for a project, so ``basin serve``, ``dag.test()`` runs and the benchmarks all
run Airflow the same way.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from basin.orchestration.configuration import OrchestrationConfig

HOST = "127.0.0.1"


def airflow_home(root: Path) -> Path:
    """Airflow's home for the project: ``.basin/airflow`` next to basin.yml (git-ignored)."""
    return root / ".basin" / "airflow"


def openlineage_events(root: Path) -> Path:
    """File the OpenLineage provider appends one event per line to."""
    return root / ".basin" / "openlineage" / "airflow-events.jsonl"


def celery_queue(root: Path, orch: OrchestrationConfig) -> str:
    """The project's Celery queue: its own unless ``celery.queue`` names one."""
    import hashlib

    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    return orch.celery.queue or f"basin.{root.resolve().name}.{digest}"


def worker_hostname() -> str:
    """Airflow's ``hostname_callable``: the machine's name, and the worker's under
    ``basin serve`` (several workers on one machine), so each task instance says which
    worker ran it."""
    import socket

    worker = os.environ.get("BASIN_CELERY_WORKER")
    host = socket.getfqdn()
    return f"{host}/{worker}" if worker else host


def airflow_environment(root: Path, orch: OrchestrationConfig) -> dict[str, str]:
    """``AIRFLOW__*`` variables for running the project's DAGs on this machine.

    Everything listens on 127.0.0.1; the executor runs ``parallelism`` tasks at once
    (LocalExecutor in the scheduler, or CeleryExecutor through the broker to the
    workers, on the project's own queue); DAGs start unpaused (``basin serve`` is asked
    to run the project); the OpenLineage provider writes its events to a file in the
    project's state folder.
    """
    home = airflow_home(root)
    events = openlineage_events(root)
    database = orch.database_url or f"sqlite:///{home / 'airflow.db'}"
    base_url = f"http://{HOST}:{orch.port}"
    executor = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    }
    if database.startswith("postgresql"):
        # Airflow 3.3 derives its async engine's URL with asyncpg, which Basin does not
        # install: the same database through psycopg 3's async driver instead.
        from sqlalchemy.engine import make_url

        async_url = make_url(database).set(drivername="postgresql+psycopg_async")
        executor["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = async_url.render_as_string(
            hide_password=False
        )
    if orch.executor == "celery":
        executor = {
            **executor,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": orch.celery.broker_url,
            # Task states go to Airflow's own database (PostgreSQL with Celery).
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{database}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(orch.celery.concurrency),
            # One task at a time per free slot: a long task never holds a queued one.
            "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": celery_queue(root, orch),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
        }
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / orch.dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        **executor,
        "AIRFLOW__CORE__PARALLELISM": str(orch.parallelism),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(orch.port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",
        # New files in the DAG folder show up within seconds rather than minutes.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "false",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "basin",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events), "append": True}
        ),
        # Tasks run Basin from the interpreter that runs Airflow.
        "PATH": f"{Path(sys.executable).parent}:" + os.environ.get("PATH", ""),
    }
