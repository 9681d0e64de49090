"""Small helpers about files."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only, with ``text``: the file never exists
    with wider permissions, not even between creating and writing it. An existing file
    is left as it is (two processes generating a secret at once keep the first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as out:
        out.write(text)
