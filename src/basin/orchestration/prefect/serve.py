"""``basin serve --orchestrator prefect``: Prefect for one project on 127.0.0.1, and
``--stop``.

Two process groups: the Prefect server (API, UI, scheduler and event triggers;
``prefect server start``) and a runner (``prefect.serve`` of the project's
deployments: each environment's flow with its cron schedule and upstream triggers,
and the drop-folder watcher), which executes the flow runs. Prefect keeps its
database in ``.basin/prefect`` (``PREFECT_HOME``); what was started is recorded in
``.basin/prefect/serve.json`` and ``runner.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from basin.common import servers
from basin.common.errors import TerminalError
from basin.common.processes import child_alive, stop_groups, tail
from basin.common.servers import Served

RUNNER_START_SECONDS = 120.0


def home(root: Path) -> Path:
    return root / ".basin" / "prefect"


def _state(root: Path) -> Path:
    return home(root) / "serve.json"


def _runner_state(root: Path) -> Path:
    return home(root) / "runner.json"


def environment(root: Path, port: int) -> dict[str, str]:
    """Prefect's settings for the project's server and runner."""
    return {
        **os.environ,
        "PREFECT_HOME": str(home(root)),
        "PREFECT_API_URL": f"http://{servers.HOST}:{port}/api",
        "PREFECT_SERVER_API_HOST": servers.HOST,
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "basin",
        # The runner's own records (the drop-folder watcher) stay in its log file.
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "PREFECT_RUNNER_SERVER_HOST": servers.HOST,
    }


def running(root: Path) -> Served | None:
    return servers.running(_state(root))


def start(root: Path, port: int, *, timeout: float = 240.0) -> Served:
    """Start the Prefect server and the runner of the project's deployments; return at
    once if they already run (two ``basin serve`` at once start one of each).

    Raises:
        TerminalError: Prefect is not installed, the port is taken, or a process exits
            or does not answer in time.
    """
    folder = home(root)
    with servers.exclusive(folder):
        if (current := running(root)) is not None:
            return replace(current, already_running=True)
        stop(root)  # a runner left behind by a server that was killed
        prefect = servers.beside_python(
            "prefect",
            "Prefect",
            "install it in its own environment: pip install 'basin[prefect]' "
            "(-c constraints/prefect-py311.txt; Prefect 3.9 cannot share one with Airflow)",
        )
        servers.free_port(port, "orchestration.port")
        env = environment(root, port)
        served = servers.launch(
            "the Prefect server",
            [prefect, "server", "start", "--host", servers.HOST, "--port", str(port)],
            port=port,
            health="/api/health",
            state=_state(root),
            log=folder / "server.log",
            env=env,
            cwd=root,
            timeout=timeout,
        )
        log = folder / "runner.log"
        with log.open("ab") as out:
            runner = subprocess.Popen(
                [sys.executable, "-m", "basin.orchestration.prefect.runner",
                 str(root / "basin.yml")],
                env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        _runner_state(root).write_text(json.dumps({"pid": runner.pid, "log": str(log)}))
        _await_deployments(root, env["PREFECT_API_URL"], runner.pid, log)
        return served


def _await_deployments(root: Path, api: str, pid: int, log: Path) -> None:
    """Wait until the runner has registered the deployments (or stop everything)."""
    import httpx

    give_up = time.monotonic() + RUNNER_START_SECONDS
    while True:
        try:
            found = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
            if found:
                return
        except httpx.HTTPError:
            pass
        if not child_alive(pid) or time.monotonic() > give_up:
            stop(root)
            why = "exited" if not child_alive(pid) else "registered no deployment in time"
            raise TerminalError(f"Prefect's runner {why}", hint=f"see {log}:\n{tail(log)}")
        time.sleep(1)


def stop(root: Path, *, timeout: float = 30.0) -> bool:
    """Stop the runner and the server; False when neither was running."""
    stopped = False
    runner = _runner_state(root)
    if runner.exists():
        try:
            pid = int(json.loads(runner.read_text())["pid"])
        except (ValueError, TypeError, KeyError):
            pid = None  # unreadable: nothing to stop by it
        if pid is not None:
            stop_groups([pid], timeout)
            stopped = True
        runner.unlink()
    return servers.stop("the Prefect server", _state(root), timeout=timeout) or stopped
