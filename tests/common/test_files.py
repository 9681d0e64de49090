"""Generated secrets are never readable by others, and the first one wins."""

from __future__ import annotations

import os
from pathlib import Path

from basin.common.files import write_private


def test_a_private_file_is_owner_only_from_the_start_and_never_overwritten(tmp_path: Path) -> None:
    old = os.umask(0)  # the widest umask: the mode must not depend on it
    try:
        path = tmp_path / "deep" / "secret"
        write_private(path, "first")
        write_private(path, "second")
    finally:
        os.umask(old)
    assert path.read_text() == "first"
    assert path.stat().st_mode & 0o777 == 0o600
