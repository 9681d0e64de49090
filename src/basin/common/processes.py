"""Small helpers about operating-system processes."""

from __future__ import annotations

import os
import signal


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    return True


def die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies (Linux), so no service is orphaned."""
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def child_alive(pid: int) -> bool:
    """Whether ``pid`` still runs; reaps it first if it is our exited child (a test that
    starts and stops a server in one process would otherwise see a zombie as alive)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    return process_alive(pid)


def listening(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def answers(url: str, timeout: float = 5) -> bool:
    """Whether ``url`` answers 200."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def tail(path: os.PathLike[str] | str, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file (empty if it cannot be read)."""
    from pathlib import Path

    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop_groups(pids: list[int], timeout: float = 30.0) -> None:
    """Stop the process groups led by ``pids``: SIGTERM, then SIGKILL after ``timeout``
    (the groups hold what the leaders forked), and wait for the leaders to end."""
    import time

    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    give_up = time.monotonic() + timeout
    while any(child_alive(pid) for pid in pids) and time.monotonic() < give_up:
        time.sleep(0.2)
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while any(child_alive(pid) for pid in pids) and time.monotonic() < give_up + 10:
        time.sleep(0.2)
