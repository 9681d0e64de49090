"""Small helpers about operating-system processes."""

from __future__ import annotations

import os
import signal


def _stat(pid: int | str) -> tuple[str, int] | None:
    """``(state, process group)`` of a process from /proc (Linux), or None."""
    try:
        text = open(f"/proc/{pid}/stat").read()  # noqa: PTH123, SIM115 - one short read
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this machine) and is not a zombie (a
    killed process whose parent has not reaped it yet is dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    stat = _stat(pid)
    return stat is None or stat[0] != "Z"


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


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group ``pgid`` still runs, zombies aside (its
    leader may be gone: ``kill -9`` of the leader leaves what it forked)."""
    if not os.path.isdir("/proc"):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) and stat[1] == pgid and stat[0] != "Z":
            return True
    return False


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    (the groups hold what the leaders forked), and wait for every member to end."""
    import time

    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    give_up = time.monotonic() + timeout

    def alive() -> bool:
        # Until nothing of the groups is left, zombies included (reaped when ours): the
        # callers check that the group is gone, and a zombie leader is reaped by init.
        for pid in pids:
            child_alive(pid)
        return any(_group_exists(pid) for pid in pids)

    while alive() and time.monotonic() < give_up:
        time.sleep(0.2)
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while alive() and time.monotonic() < give_up + 10:
        time.sleep(0.2)
