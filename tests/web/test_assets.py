"""The web UI's browser files come from npm packages pinned with their integrity, and
the wheel carries them: the UI needs nothing from the network when it runs."""

from __future__ import annotations

import json
import runpy
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "vendor_web_assets.py"


def _pinned() -> list[str]:
    packages = json.loads((REPO / "src/basin/web/assets.json").read_text())["packages"]
    return [dest for spec in packages.values() for dest in spec["files"].values()]


def test_the_built_wheel_carries_every_pinned_browser_file(tmp_path: Path) -> None:
    """Built from a checkout without the vendored files: the build puts them in."""
    source = tmp_path / "src-tree"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "scripts", source / "scripts")
    shutil.copytree(
        REPO / "src",
        source / "src",
        ignore=shutil.ignore_patterns("vendor", "__pycache__", "*.egg-info"),
    )
    assert not (source / "src/basin/web/static/vendor").exists()
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            ".",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        cwd=source,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (tmp_path / "dist").glob("basin-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for dest in _pinned():
        assert f"basin/web/static/vendor/{dest}" in names, dest
    for page in ("base.html", "lineage.html", "run.html"):
        assert f"basin/web/templates/{page}" in names
    assert "basin/web/assets.json" in names and "basin/web/static/basin.js" in names


def test_a_tarball_that_does_not_match_its_integrity_is_refused() -> None:
    verified = runpy.run_path(str(SCRIPT))["_verified"]
    assert verified(b"abc", "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", "x") == b"abc"
    with pytest.raises(SystemExit, match="does not match its pinned integrity"):
        verified(b"abd", "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", "x")


def test_pages_reference_only_vendored_or_own_files() -> None:
    """No CDN: every script and stylesheet a template loads is served from /static."""
    import re

    for template in (REPO / "src/basin/web/templates").glob("*.html"):
        for ref in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', template.read_text()):
            assert ref.startswith("/static/"), (template.name, ref)
            assert (REPO / "src/basin/web" / ref.lstrip("/")).exists(), (template.name, ref)
