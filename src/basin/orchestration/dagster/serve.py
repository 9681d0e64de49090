"""``basin serve --orchestrator dagster``: Dagster for one project on 127.0.0.1, and
``--stop``.

``dagster dev`` runs the webserver (UI and GraphQL API) and the daemon (schedules,
sensors, run queue) over a code location file Basin writes, which builds the
definitions from basin.yml. Dagster keeps its instance (runs, event logs, sensor
cursors) in ``.basin/dagster`` (``DAGSTER_HOME``); what was started is recorded in
``.basin/dagster/serve.json`` and ``stop`` ends exactly that process group.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from basin.common import servers
from basin.common.servers import Served

INSTANCE = "telemetry:\n  enabled: false\n"
LOCATION = '''"""Written by `basin serve --orchestrator dagster`: the project's Dagster definitions."""

from basin.orchestration.dagster import build_definitions

defs = build_definitions({basin_yml!r})
'''


def home(root: Path) -> Path:
    return root / ".basin" / "dagster"


def _state(root: Path) -> Path:
    return home(root) / "serve.json"


def running(root: Path) -> Served | None:
    return servers.running(_state(root))


def start(root: Path, port: int, *, timeout: float = 240.0) -> Served:
    """Start ``dagster dev`` for the project; return at once if it already runs (two
    ``basin serve`` at once start one).

    Raises:
        TerminalError: Dagster is not installed, the port is taken, or Dagster exits
            or does not answer in time.
    """
    folder = home(root)
    with servers.exclusive(folder):
        if (current := running(root)) is not None:
            return replace(current, already_running=True)
        dagster = servers.beside_python(
            "dagster", "Dagster", "install it with: pip install 'basin[dagster]'"
        )
        servers.free_port(port, "orchestration.port")
        (folder / "dagster.yaml").write_text(INSTANCE)
        location = folder / "definitions.py"
        location.write_text(LOCATION.format(basin_yml=str(root / "basin.yml")))
        return servers.launch(
            "Dagster",
            [dagster, "dev", "-f", str(location), "-h", servers.HOST, "-p", str(port)],
            port=port,
            health="/server_info",
            state=_state(root),
            log=folder / "dagster.log",
            env={**os.environ, "DAGSTER_HOME": str(folder)},
            cwd=root,
            timeout=timeout,
        )


def stop(root: Path, *, timeout: float = 30.0) -> bool:
    """Stop what ``start`` started; False when nothing was running."""
    return servers.stop("Dagster", _state(root), timeout=timeout)
