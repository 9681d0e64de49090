"""One server process for a project on 127.0.0.1 (Superset's gunicorn, ``dagster
dev``): started in its own process group, recorded in a state file, awaited until its
health URL answers, stopped with everything it forked."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from basin.common.errors import TerminalError
from basin.common.processes import (
    answers,
    child_alive,
    group_alive,
    listening,
    stop_groups,
    tail,
)

HOST = "127.0.0.1"


def beside_python(program: str, product: str, hint: str) -> str:
    """The path of ``program`` installed next to the interpreter running Basin (the
    orchestrators' command-line programs).

    Raises:
        TerminalError: it is not installed there (``hint``: how to install it).
    """
    path = Path(sys.executable).parent / program
    if not path.exists():
        raise TerminalError(f"{product} is not installed next to {sys.executable}", hint=hint)
    return str(path)


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    pid: int
    log: str
    already_running: bool = False


@contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Held while a server is started (or used in ways that must not race): two
    commands at once start one server."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _recorded(state: Path) -> Served | None:
    """What ``state`` records; a file that cannot be read as one (cut short, edited) is
    removed with a warning: the server it named, if any, is found by its port."""
    if not state.exists():
        return None
    try:
        return Served(**json.loads(state.read_text()))
    except (ValueError, TypeError) as exc:
        from basin.common.logging import get_logger

        get_logger(__name__).warning("ignoring unreadable %s (%s); removing it", state, exc)
        state.unlink(missing_ok=True)
        return None


def running(state: Path) -> Served | None:
    """What an earlier start recorded in ``state`` and is still alive, if anything. A
    server whose leading process died (``kill -9``) is not running: what it forked
    (still holding its port) is stopped, so the next start can bind it again."""
    served = _recorded(state)
    if served is None:
        return None
    if child_alive(served.pid):
        return served
    if group_alive(served.pid):
        stop_groups([served.pid])
    state.unlink()
    return None


def free_port(port: int, setting: str) -> None:
    """Raise unless ``port`` is free on 127.0.0.1 (``setting``: where basin.yml sets it)."""
    if listening(HOST, port):
        raise TerminalError(
            f"port {port} on {HOST} is already in use",
            hint=f"stop what listens there, or set {setting} in basin.yml",
        )


def launch(
    name: str,
    command: list[str],
    *,
    port: int,
    health: str,
    state: Path,
    log: Path,
    env: dict[str, str],
    cwd: Path,
    timeout: float,
) -> Served:
    """Start ``command`` in its own session (output appended to ``log``), record it in
    ``state`` and wait until ``http://127.0.0.1:<port><health>`` answers.

    Raises:
        TerminalError: it exits or does not answer within ``timeout`` (it is stopped).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    served = Served(url=f"http://{HOST}:{port}", port=port, pid=proc.pid, log=str(log))
    state.write_text(json.dumps(asdict(served)) + "\n")
    give_up = time.monotonic() + timeout
    while not answers(f"{served.url}{health}"):
        if not child_alive(proc.pid) or time.monotonic() > give_up:
            stop(name, state)
            why = "exited" if not child_alive(proc.pid) else f"did not answer in {timeout:.0f} s"
            raise TerminalError(f"{name} {why}", hint=f"see {log}:\n{tail(log)}")
        time.sleep(1)
    return served


def stop(name: str, state: Path, *, timeout: float = 30.0) -> bool:
    """Stop what ``launch`` recorded in ``state`` (SIGTERM to its group, SIGKILL after
    ``timeout``); False if nothing was running.

    Raises:
        TerminalError: something still listens on its port afterwards.
    """
    served = _recorded(state)
    if served is None:
        return False
    stop_groups([served.pid], timeout)
    state.unlink()
    if listening(HOST, served.port):
        raise TerminalError(
            f"something still listens on {HOST}:{served.port} after stopping {name}",
            hint="find it with `ss -ltnp` and stop it",
        )
    return True
