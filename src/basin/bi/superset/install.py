"""Superset's own virtualenv, created on first use from the pinned constraints.

Superset 6.1's dependency tree conflicts with Basin's (SQLAlchemy 1.4, Flask-AppBuilder
pins), so it lives apart: ``.basin/superset/venv`` by default, or ``$BASIN_SUPERSET_VENV``
(shared by several projects or kept in a CI cache). Measured here: 85 s with pip's cache
warm. Concurrent callers wait on one lock; an install that was killed leaves no stamp
and is redone from scratch.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from basin.common.errors import TerminalError
from basin.common.logging import get_logger
from basin.common.processes import tail

log = get_logger(__name__)

CONSTRAINTS = Path(__file__).with_name("constraints.txt")
PACKAGES = [
    "apache-superset[duckdb]==6.1.0",
    # Superset 6.1 fails at start without these (measured): its pins let pip pick a
    # flask-caching it cannot import, and it imports rich and cachetools undeclared.
    "flask-caching==2.3.1",
    "rich",
    "cachetools",
    # The same DuckDB as Basin's, so the published snapshot opens in both.
    "duckdb==1.5.5",
    # A PostgreSQL warehouse's published schemas.
    "psycopg2-binary",
]
STAMP = ".basin-superset"


def venv_dir(root: Path) -> Path:
    """Where the project's Superset virtualenv lives."""
    override = os.environ.get("BASIN_SUPERSET_VENV")
    return Path(override) if override else root / ".basin" / "superset" / "venv"


def _fingerprint() -> str:
    text = CONSTRAINTS.read_text() + "\n".join(PACKAGES) + sys.version.split()[0]
    return hashlib.sha256(text.encode()).hexdigest()


def installed(venv: Path) -> bool:
    stamp = venv / STAMP
    return (
        (venv / "bin" / "superset").exists()
        and stamp.exists()
        and stamp.read_text() == (_fingerprint())
    )


def ensure(venv: Path, log_file: Path) -> Path:
    """The virtualenv's ``bin`` folder, with Superset installed (installing it if needed).

    Raises:
        TerminalError: pip failed (the log's tail says why).
    """
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing it
        if installed(venv):
            return venv / "bin"
        log.info("installing Superset 6.1 into %s (once; about 1-3 minutes)", venv)
        shutil.rmtree(venv, ignore_errors=True)  # a killed install leaves a half venv
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("wb") as out:
            steps = [
                [sys.executable, "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 "--upgrade", "pip"],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 "-c", str(CONSTRAINTS), *PACKAGES],
            ]  # fmt: skip
            for step in steps:
                done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT)
                if done.returncode != 0:
                    raise TerminalError(
                        f"could not install Superset into {venv}",
                        hint=f"see {log_file}:\n{tail(log_file)}",
                    )
        (venv / STAMP).write_text(_fingerprint())
        return venv / "bin"


if __name__ == "__main__":  # python -m basin.bi.superset.install VENV LOG (tests install ahead)
    try:
        ensure(Path(sys.argv[1]), Path(sys.argv[2]))
    except TerminalError as exc:
        sys.exit(f"{exc}\n{exc.hint}")
