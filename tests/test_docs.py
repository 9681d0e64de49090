"""The documentation site builds with --strict: a broken link, a missing page or an
anchor that does not exist fails the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"},
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    site = tmp_path / "site"
    config = (site / "reference" / "config" / "index.html").read_text()
    assert "postgressource" in config and "delimiter" in config
    assert "basin catalog search" in (site / "reference" / "cli" / "index.html").read_text()
    # The options tables of a source page are the models' own.
    assert "max_line_size" in (site / "sources" / "files" / "index.html").read_text()
    assert "googleapis" not in (site / "index.html").read_text()  # works offline
