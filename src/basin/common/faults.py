"""Named fault-injection points, for the reliability tests.

``BASIN_KILL_AT=load.before_commit`` makes the process kill itself with SIGKILL the
first time it reaches that point, exactly as ``kill -9`` from outside would, but at a
chosen instant (PostgreSQL's injection points serve the same purpose). Unset — always,
outside those tests — a point costs one dictionary lookup.

``BASIN_PAUSE_AT=<point>`` with ``BASIN_PAUSE_FILE=<path>`` instead holds the first
process that reaches the point (for up to ten minutes), after writing its pid to the
file, so a test can kill what runs it from outside (e.g. an Airflow worker); a process
reaching it once the file exists goes on.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "extract.before_manifest",
    "extract.before_complete",
    "load.before_commit",
    "load.before_record",
    "transform.mid_build",
    "publish.before_swap",
    "publish.before_record",
    "replay.mid",
    "run.after_extract",
    "run.after_load",
    "run.after_transform",
)
"""Every point, in the order a run reaches them (tests iterate over this)."""


def point(name: str) -> None:
    """Die here with SIGKILL if ``BASIN_KILL_AT`` names this point."""
    if os.environ.get("BASIN_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get("BASIN_PAUSE_AT") == name:
        _pause(os.environ.get("BASIN_PAUSE_FILE", ""))


def _pause(flag: str) -> None:
    import time

    try:
        fd = os.open(flag, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (FileExistsError, FileNotFoundError):
        return  # held once already (or no file named): go on
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(600)
