"""Prefect's own virtualenv for the tests, made once per machine and constraints.

Prefect cannot share Basin's test environment (Prefect 3.9 needs FastAPI >= 0.139,
Airflow 3.3 < 0.137), so the tests build one from constraints/prefect-py311.txt with
Prefect and Basin's runtime dependencies, not Basin itself (the checkout's ``src`` goes
on ``PYTHONPATH``, so one virtualenv serves every clone). On a machine without it the
suite starts ``python -m tests.orchestration.prefect_env`` in the background at
collection (tests/conftest.py), and the Prefect tests wait on the same lock."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints" / "prefect-py311.txt"
PREFECT = "prefect==3.9.1"


def folder() -> Path:
    from tests.conftest import tool_venvs

    path = tool_venvs() / "prefect"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _packages() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [PREFECT, *project["dependencies"]]


def _fingerprint() -> str:
    text = CONSTRAINTS.read_text() + "\n".join(_packages()) + sys.version.split()[0]
    return hashlib.sha256(text.encode()).hexdigest()


def ready() -> bool:
    """The virtualenv is there and was made from today's constraints."""
    stamp = folder() / "venv" / ".basin-prefect"
    return stamp.exists() and stamp.read_text() == _fingerprint()


def python() -> Path:
    """The Python of the virtualenv, made first when missing or stale (under a lock: a
    background build or another worker may be making it; then this waits for it)."""
    base = folder()
    venv = base / "venv"
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready():
            shutil.rmtree(venv, ignore_errors=True)
            log = base / "install.log"
            with log.open("wb") as out:
                for command in (
                    [sys.executable, "-m", "venv", str(venv)],
                    [str(venv / "bin/python"), "-m", "pip", "install", "--quiet",
                     "-c", str(CONSTRAINTS), *_packages()],
                ):  # fmt: skip
                    done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
                    if done.returncode != 0:
                        raise RuntimeError(
                            f"building Prefect's virtualenv failed ({log}):\n"
                            + log.read_text()[-3000:]
                        )
            (venv / ".basin-prefect").write_text(_fingerprint())
    return venv / "bin" / "python"


if __name__ == "__main__":
    python()
