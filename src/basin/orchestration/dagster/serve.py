"""``basin serve --orchestrator dagster``: Dagster for one project on 127.0.0.1, and
``--stop``.

``dagster dev`` runs the webserver (UI and GraphQL API) and the daemon (schedules,
sensors, run queue) over a code location file Basin writes, which builds the
definitions from basin.yml. Dagster keeps its instance (runs, event logs, schedules'
state) in ``.basin/dagster`` (``DAGSTER_HOME``); what was started is recorded in
``.basin/dagster/serve.json`` and ``stop`` ends exactly that process group.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from basin.common.errors import TerminalError
from basin.common.processes import answers, child_alive, listening, stop_groups, tail

HOST = "127.0.0.1"
INSTANCE = "telemetry:\n  enabled: false\n"
LOCATION = '''"""Written by `basin serve --orchestrator dagster`: the project's Dagster definitions."""

from basin.orchestration.dagster import build_definitions

defs = build_definitions({basin_yml!r})
'''


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    home: str
    log: str
    pid: int
    already_running: bool = False


def home(root: Path) -> Path:
    return root / ".basin" / "dagster"


def _state_file(root: Path) -> Path:
    return home(root) / "serve.json"


def running(root: Path) -> Served | None:
    """What an earlier serve started and is still alive, if anything."""
    state = _state_file(root)
    if not state.exists():
        return None
    served = Served(**json.loads(state.read_text()))
    if child_alive(served.pid):
        return served
    state.unlink()
    return None


def _dagster_command() -> str:
    program = Path(sys.executable).parent / "dagster"
    if not program.exists():
        raise TerminalError(
            f"Dagster is not installed next to {sys.executable}",
            hint="install it with: pip install 'basin[dagster]'",
        )
    return str(program)


def start(root: Path, port: int, *, timeout: float = 240.0) -> Served:
    """Start ``dagster dev`` for the project; return at once if it already runs.

    Raises:
        TerminalError: the port is taken, or Dagster exits or does not answer in time.
    """
    if (current := running(root)) is not None:
        return Served(**{**asdict(current), "already_running": True})
    dagster = _dagster_command()
    if listening(HOST, port):
        raise TerminalError(
            f"port {port} on {HOST} is already in use",
            hint="stop what listens there, or set orchestration.port in basin.yml",
        )
    folder = home(root)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster.yaml").write_text(INSTANCE)
    location = folder / "definitions.py"
    location.write_text(LOCATION.format(basin_yml=str(root / "basin.yml")))
    log = folder / "dagster.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [dagster, "dev", "-f", str(location), "-h", HOST, "-p", str(port)],
            env={**os.environ, "DAGSTER_HOME": str(folder)},
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    served = Served(
        url=f"http://{HOST}:{port}", port=port, home=str(folder), log=str(log), pid=proc.pid
    )
    _state_file(root).write_text(json.dumps(asdict(served), indent=2) + "\n")
    give_up = time.monotonic() + timeout
    while not answers(f"{served.url}/server_info"):
        if not child_alive(proc.pid) or time.monotonic() > give_up:
            stop(root)
            what = "exited" if not child_alive(proc.pid) else f"did not answer in {timeout:.0f} s"
            raise TerminalError(f"Dagster {what}", hint=f"see {log}:\n{tail(log)}")
        time.sleep(1)
    return served


def stop(root: Path, *, timeout: float = 30.0) -> bool:
    """Stop what ``start`` started; False when nothing was running.

    Raises:
        TerminalError: something still listens on the port afterwards.
    """
    state = _state_file(root)
    if not state.exists():
        return False
    served = Served(**json.loads(state.read_text()))
    stop_groups([served.pid], timeout)  # the group: webserver, daemon, code servers
    state.unlink()
    if listening(HOST, served.port):
        raise TerminalError(
            f"something still listens on {HOST}:{served.port} after stopping Dagster",
            hint="find it with `ss -ltnp` and stop it",
        )
    return True
