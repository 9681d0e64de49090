"""``basin serve``: Airflow for one project on 127.0.0.1, and ``--stop``.

Four processes, each in its own process group so that stopping one stops the task
processes it forked: the API server (UI and REST API), the scheduler (with the
LocalExecutor), the DAG processor and the triggerer (which watches the drop folders);
with ``orchestration.executor: celery`` the scheduler queues tasks on the broker
instead and ``celery.workers`` Celery workers run them, each in its own group too;
a fifth, ``basin metrics --serve --all-envs``, for Prometheus (``metrics.serve``), and
a sixth, ``basin web``, Basin's own UI (``web.serve``).
Not ``airflow standalone``: it binds 0.0.0.0 and forks a worker per core. The log
servers of the scheduler and the triggerer are not started (they bind every
interface); the API server reads task logs from the shared log folder instead.

What was started is recorded in ``.basin/airflow/serve.json``; ``stop`` ends exactly
those processes and checks that nothing listens on the port any more.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from basin.common.errors import TerminalError
from basin.common.files import write_private
from basin.common.processes import answers, child_alive, listening, stop_groups, tail
from basin.common.servers import beside_python
from basin.observe.configuration import MetricsConfig
from basin.orchestration.airflow.environment import (
    HOST,
    airflow_environment,
    airflow_home,
    openlineage_events,
)
from basin.orchestration.configuration import OrchestrationConfig

PROCESSES: dict[str, list[str]] = {
    "api-server": ["api-server", "--workers", "1"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
ADMIN = "admin"


@dataclass(frozen=True)
class Served:
    """What ``basin serve`` started."""

    url: str
    port: int
    user: str
    password_file: str
    log_dir: str
    pids: dict[str, int]
    already_running: bool = False
    metrics_url: str | None = None
    web_url: str | None = None


def _state_file(root: Path) -> Path:
    return airflow_home(root) / "serve.json"


def _healthy(served: Served) -> bool:
    return (
        answers(f"{served.url}/api/v2/monitor/health")
        and (served.metrics_url is None or answers(served.metrics_url))
        and (served.web_url is None or answers(f"{served.web_url}healthz"))
    )


def _airflow_command() -> str:
    """The ``airflow`` program next to the interpreter running Basin."""
    return beside_python(
        "airflow", "Airflow", "install it with: pip install 'basin[airflow]' (Airflow 3.3)"
    )


def _basin_command() -> list[str]:
    """Basin's command line, run by the interpreter running Basin."""
    return [sys.executable, "-m", "basin"]


def _program(name: str) -> str:
    return f"basin {name}" if name in ("metrics", "web") else f"airflow {name}"


def running(root: Path) -> Served | None:
    """What an earlier ``basin serve`` started and is still alive, if anything."""
    state = _state_file(root)
    if not state.exists():
        return None
    served = Served(**json.loads(state.read_text()))
    if any(child_alive(pid) for pid in served.pids.values()):
        return served
    state.unlink()
    return None


def start(
    root: Path,
    orch: OrchestrationConfig,
    metrics: MetricsConfig | None = None,
    web_port: int | None = None,
    *,
    timeout: float = 240.0,
) -> Served:
    """Start Airflow for the project (and its metrics endpoint, if ``metrics.serve``, and
    Basin's web UI on ``web_port``, if given); return at once if it already runs.

    Raises:
        TerminalError: the DAG folder is missing, a port is taken, the database
            cannot be migrated, or a process exits or does not answer in time.
    """
    if (current := running(root)) is not None:
        return Served(**{**asdict(current), "already_running": True})
    airflow = _airflow_command()
    dags = root / orch.dags_folder
    if not dags.is_dir():
        raise TerminalError(
            f"no DAG folder at {dags}",
            hint="create it with a DAG file that calls basin.orchestration.airflow.build_dags "
            "(see `basin init`), or set orchestration.dags_folder in basin.yml",
        )
    serve_metrics = metrics is not None and metrics.serve
    ports = {orch.port: "orchestration.port"}
    if metrics is not None and serve_metrics:
        ports[metrics.port] = "metrics.port (or metrics.serve: false)"
    if web_port is not None:
        ports[web_port] = "web.port (or web.serve: false)"
    for port, setting in ports.items():
        if listening(HOST, port):
            raise TerminalError(
                f"port {port} on {HOST} is already in use",
                hint=f"stop what listens there, or set {setting} in basin.yml",
            )
    if orch.executor == "celery":
        _check_celery(orch)
    env = {**os.environ, **airflow_environment(root, orch)}
    home = airflow_home(root)
    logs = home / "logs" / "processes"
    logs.mkdir(parents=True, exist_ok=True)
    openlineage_events(root).parent.mkdir(parents=True, exist_ok=True)

    _migrate(airflow, env, logs / "db-migrate.log")
    passwords = _admin_password(home / "passwords.json")
    url = f"http://{HOST}:{orch.port}"
    commands = {name: [airflow, *args] for name, args in PROCESSES.items()}
    own_env: dict[str, dict[str, str]] = {}
    if orch.executor == "celery":
        queue = env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
        for i in range(1, orch.celery.workers + 1):
            name = f"worker-{i}"
            commands[name] = [
                airflow,
                "celery",
                "worker",
                "--queues",
                queue,
                "--concurrency",
                str(orch.celery.concurrency),
                "--celery-hostname",
                f"{name}.{queue}@%h",
                # Its log server would bind every interface: the API server reads task
                # logs from the shared folder (one machine) or remote logging.
                "--skip-serve-logs",
                "--without-mingle",
                "--without-gossip",
            ]
            own_env[name] = {"BASIN_CELERY_WORKER": name}
    metrics_url = None
    if metrics is not None and serve_metrics:
        commands["metrics"] = [
            *_basin_command(),
            "--project",
            str(root),
            "metrics",
            "--serve",
            "--all-envs",
            "--port",
            str(metrics.port),
        ]
        metrics_url = f"http://{HOST}:{metrics.port}/metrics"
    web_url = None
    if web_port is not None:
        commands["web"] = [
            *_basin_command(),
            "--project",
            str(root),
            "web",
            "--port",
            str(web_port),
        ]
        web_url = f"http://{HOST}:{web_port}/"
    pids: dict[str, int] = {}
    for name, command in commands.items():
        with (logs / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                command,
                env={**env, **own_env.get(name, {})},
                cwd=root,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        pids[name] = proc.pid
    served = Served(
        url=url,
        port=orch.port,
        user=ADMIN,
        password_file=str(passwords),
        log_dir=str(logs),
        pids=pids,
        metrics_url=metrics_url,
        web_url=web_url,
    )
    _state_file(root).write_text(json.dumps(asdict(served), indent=2) + "\n")

    _wait_healthy(root, served, timeout)
    return served


def _check_celery(orch: OrchestrationConfig) -> None:
    """CeleryExecutor needs Airflow's database on PostgreSQL and a broker that answers."""
    database = orch.database_url or "sqlite"
    if not database.startswith("postgresql"):
        raise TerminalError(
            "Airflow's CeleryExecutor needs its database on PostgreSQL (workers on other "
            "processes and machines share it; SQLite cannot be shared)",
            hint="set orchestration.database_url in basin.yml, e.g. "
            "postgresql+psycopg2://airflow@127.0.0.1:5432/airflow",
        )
    from kombu import Connection

    broker = Connection(orch.celery.broker_url, connect_timeout=5)
    try:
        broker.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure: the broker is unusable
        raise TerminalError(
            f"Celery's broker {broker.as_uri()} does not answer: {type(exc).__name__}: {exc}",
            hint="start it (Redis: redis-server), or set orchestration.celery.broker_url",
        ) from None
    finally:
        broker.release()


def _migrate(airflow: str, env: dict[str, str], log: Path) -> None:
    """``airflow db migrate``, its output in ``log``."""
    with log.open("wb") as out:
        migrated = subprocess.run(
            [airflow, "db", "migrate"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if migrated.returncode != 0:
        raise TerminalError(
            "Airflow could not set up its database", hint=f"see {log}:\n{tail(log)}"
        )


def _admin_password(path: Path) -> Path:
    """The file holding the generated admin password (created once, owner-only)."""
    write_private(path, json.dumps({ADMIN: secrets.token_urlsafe(12)}) + "\n")
    return path


def _wait_healthy(root: Path, served: Served, timeout: float) -> None:
    """Wait for the API server to answer; stop everything if a process dies or time runs out."""
    give_up = time.monotonic() + timeout
    while not _healthy(served):
        dead = [name for name, pid in served.pids.items() if not child_alive(pid)]
        if dead or time.monotonic() > give_up:
            stop(root)
            if dead:
                what, name = f"{_program(dead[0])} exited", dead[0]
            elif not answers(f"{served.url}/api/v2/monitor/health"):
                what, name = f"{served.url} did not answer in {timeout:.0f} s", "api-server"
            elif served.metrics_url and not answers(served.metrics_url):
                what, name = f"{served.metrics_url} did not answer in {timeout:.0f} s", "metrics"
            else:
                what, name = f"{served.web_url} did not answer in {timeout:.0f} s", "web"
            log = Path(served.log_dir) / f"{name}.log"
            raise TerminalError(f"Airflow did not start: {what}", hint=f"see {log}:\n{tail(log)}")
        time.sleep(1)


def stop(root: Path, *, timeout: float = 30.0) -> list[str]:
    """Stop what ``start`` started (SIGTERM, then SIGKILL after ``timeout``); return their names.

    Raises:
        TerminalError: something still listens on the port afterwards.
    """
    state = _state_file(root)
    if not state.exists():
        return []
    served = Served(**json.loads(state.read_text()))
    stop_groups(list(served.pids.values()), timeout)  # the groups: what the executor forked
    state.unlink()
    ports = [served.port]
    for url in (served.metrics_url, served.web_url):
        if url:
            ports.append(int(url.rsplit(":", 1)[1].split("/")[0]))
    for port in ports:
        if listening(HOST, port):
            raise TerminalError(
                f"something still listens on {HOST}:{port} after stopping Airflow",
                hint="find it with `ss -ltnp` and stop it",
            )
    return list(served.pids)
