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
