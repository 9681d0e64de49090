"""Local services a project needs while it runs (``services:`` of an environment).

The reference platform's SaaS API is one: Basin starts it before extraction, waits
until its ``ready_url`` answers, and stops it (its whole process group) afterwards.
Something else already answering at ``ready_url`` is an error (it may serve other
data), unless the service says ``reuse_running: true``. A started service dies with
the Basin process that started it, even on kill -9 (Linux parent-death signal).

Several extracts may share one service (an orchestrator's parallel extract tasks,
in threads or processes, with ``reuse_running: true``): each holds a shared lock on
``<log folder>/<name>.users`` while it uses the service, and the one that started it
stops it only once it can take that lock exclusively — when the last user is done
(a task that finished first stopped it under the others before: measured under
Prefect, a 60 s retry each time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from basin.common.errors import TerminalError
from basin.common.processes import die_with_parent
from basin.config.models import ServiceConfig


def needed(services: list[ServiceConfig], sources: set[str]) -> list[ServiceConfig]:
    """The services that extracting ``sources`` needs."""
    return [s for s in services if not s.sources or sources & set(s.sources)]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


USERS_WAIT_SECONDS = 3600.0


def _last_user(lock: int, name: str) -> None:
    """Wait (at most USERS_WAIT_SECONDS) until no one else uses the service."""
    import fcntl

    from basin.common.logging import get_logger

    fcntl.flock(lock, fcntl.LOCK_UN)
    give_up = time.monotonic() + USERS_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > give_up:
                get_logger(__name__).warning("service %s: still in use; stopping it anyway", name)
                return
            time.sleep(0.2)


@contextmanager
def running(services: list[ServiceConfig], root: Path, log_dir: Path) -> Iterator[None]:
    """Start the services that are not up yet; stop those Basin started once no one
    else uses them."""
    import fcntl
    import sys

    started: list[tuple[ServiceConfig, subprocess.Popen[bytes], int]] = []
    users: list[int] = []
    try:
        for svc in services:
            log_dir.mkdir(parents=True, exist_ok=True)
            # Shared while used; the starter's shutdown takes it exclusively (and a user
            # arriving then waits, and starts the service again if it is gone).
            lock = os.open(log_dir / f"{svc.name}.users", os.O_CREAT | os.O_RDWR, 0o600)
            users.append(lock)
            fcntl.flock(lock, fcntl.LOCK_SH)
            if _ready(svc.ready_url):
                if svc.reuse_running:
                    continue
                raise TerminalError(
                    f"service {svc.name}: something already answers at {svc.ready_url}",
                    hint="stop that process (it may serve other data), or set reuse_running: true "
                    "for this service in basin.yml",
                )
            log = open(log_dir / f"{svc.name}.log", "ab")  # noqa: SIM115 - closed with the process
            command = [sys.executable if c == "python" else c for c in svc.command]
            proc = subprocess.Popen(
                command,
                cwd=root / svc.cwd,
                env={**os.environ, **svc.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only calls prctl
            )
            started.append((svc, proc, lock))
            deadline = time.monotonic() + svc.timeout
            while not _ready(svc.ready_url):
                if proc.poll() is not None and _ready(svc.ready_url):
                    break  # another process (a parallel task) started it first
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise TerminalError(
                        f"service {svc.name} did not become ready at {svc.ready_url}"
                        + (f" (exited with {proc.returncode})" if proc.poll() is not None else ""),
                        hint=f"see {log_dir / (svc.name + '.log')}",
                    )
                time.sleep(0.1)
        yield
    finally:
        for svc, proc, lock in reversed(started):
            _last_user(lock, svc.name)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        for lock in users:
            os.close(lock)  # releases its lock
