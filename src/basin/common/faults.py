"""Named fault-injection points, for the reliability tests.

``BASIN_KILL_AT=load.before_commit`` makes the process kill itself with SIGKILL the
first time it reaches that point, exactly as ``kill -9`` from outside would, but at a
chosen instant (PostgreSQL's injection points serve the same purpose). Unset — always,
outside those tests — a point costs one dictionary lookup.
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
