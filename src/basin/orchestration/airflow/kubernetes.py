"""Airflow's KubernetesExecutor for a Basin project: the settings, a pod template and a
Dockerfile, rendered for the team's cluster (``basin kubernetes``).

Every task runs in a pod of its own from one image that holds Airflow, Basin and the
project at the same path as in the scheduler's and DAG processor's pods (the DAGs
pass the project's path to each task). The pods carry no secret: basin.yml's
``${env:…}`` values come from a Kubernetes Secret (``envFrom``), and Airflow's
database URL from another, as the Airflow Helm chart arranges them. Production state
lives outside the pods (lake on S3, warehouse and metadata store on PostgreSQL or
Snowflake): a task pod keeps nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT_PATH = "/opt/basin/project"
POD_TEMPLATE = "pod_template.yaml"
SETTINGS = "airflow.env"
DOCKERFILE = "Dockerfile"


@dataclass(frozen=True)
class KubernetesTarget:
    image: str
    """The image every pod runs (built from the rendered Dockerfile)."""
    namespace: str = "airflow"
    secret: str = "basin-secrets"
    """Secret with basin.yml's ``${env:…}`` variables, mounted as environment."""
    airflow_secret: str = "airflow-metadata"
    """Secret with ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` (the Helm chart's)."""
    service_account: str = "airflow-worker"
    api_server_url: str = "http://airflow-api-server:8080/execution/"
    """Where task pods reach Airflow's execution API (the chart's API server service)."""
    cpu: str = "500m"
    memory: str = "2Gi"


def pod_template(project: str, target: KubernetesTarget) -> dict[str, object]:
    """The pod every task runs in (Airflow fills in its name and command)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "basin-task",
            "labels": {"app.kubernetes.io/part-of": "basin", "basin.dev/project": project},
        },
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": target.service_account,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 50000, "fsGroup": 0},
            "containers": [
                {
                    # KubernetesExecutor runs the task in the container named "base".
                    "name": "base",
                    "image": target.image,
                    "imagePullPolicy": "IfNotPresent",
                    "workingDir": PROJECT_PATH,
                    "env": [
                        {"name": "AIRFLOW__CORE__EXECUTOR", "value": "KubernetesExecutor"},
                        {
                            "name": "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                            "value": target.api_server_url,
                        },
                        {"name": "BASIN_ACTOR", "value": "service:airflow"},
                    ],
                    "envFrom": [
                        {"secretRef": {"name": target.secret}},
                        {"secretRef": {"name": target.airflow_secret}},
                    ],
                    "resources": {
                        "requests": {"cpu": target.cpu, "memory": target.memory},
                        "limits": {"memory": target.memory},
                    },
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    # dbt's and Basin's scratch files (state lives outside the pod).
                    "volumeMounts": [{"name": "scratch", "mountPath": f"{PROJECT_PATH}/.basin"}],
                }
            ],
            "volumes": [{"name": "scratch", "emptyDir": {}}],
        },
    }


def settings(target: KubernetesTarget, folder: str = "kubernetes") -> dict[str, str]:
    """Airflow's settings for the scheduler (and the other Airflow pods); ``folder``: where
    the pod template is in the project."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "KubernetesExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": f"{PROJECT_PATH}/dags",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE": target.namespace,
        "AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE": f"{PROJECT_PATH}/{folder}/{POD_TEMPLATE}",
        "AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS": "true",
        "AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS_ON_FAILURE": "false",
    }


def dockerfile(python: str = "3.11", airflow: str = "3.3.2") -> str:
    """The image: Airflow's official one, with Basin (requirements.txt) and the project."""
    return f"""\
# The image of every Airflow pod of this project (scheduler, DAG processor, API server
# and each task's pod): Airflow {airflow}, Basin and the project at {PROJECT_PATH}.
FROM apache/airflow:{airflow}-python{python}
USER root
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \\
    && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:root requirements.txt {PROJECT_PATH}/requirements.txt
RUN pip install --no-cache-dir "apache-airflow=={airflow}" -r {PROJECT_PATH}/requirements.txt
COPY --chown=airflow:root . {PROJECT_PATH}
WORKDIR {PROJECT_PATH}
"""


def render(root: Path, project: str, target: KubernetesTarget, out: Path) -> list[Path]:
    """Write the pod template, the settings and the Dockerfile into ``out``, a folder of
    the project (the image copies the project, the pod template with it)."""
    from basin.common.errors import TerminalError

    if not out.resolve().is_relative_to(root.resolve()):
        raise TerminalError(
            f"{out} is outside the project {root}: the image copies the project, and the "
            "pod template must be in it",
            hint="give --out a folder inside the project (default: kubernetes)",
        )
    folder = out.resolve().relative_to(root.resolve()).as_posix()
    out.mkdir(parents=True, exist_ok=True)
    files = {
        out / POD_TEMPLATE: "# KubernetesExecutor's pod template for every task of this "
        "project (basin kubernetes).\n"
        + yaml.safe_dump(pod_template(project, target), sort_keys=False),
        out / SETTINGS: "# Airflow settings for the scheduler's pod (e.g. the Helm chart's "
        "env:), from basin kubernetes.\n"
        + "".join(f"{k}={v}\n" for k, v in settings(target, folder).items()),
        out / DOCKERFILE: dockerfile(),
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
