"""Superset for one project on 127.0.0.1: its config, metadata database, admin user,
and the gunicorn process (``basin bi serve``, ``basin serve --bi``).

Everything lives in ``.basin/superset/``: ``superset_config.py`` (written on every
start from basin.yml), ``superset.db`` (Superset's own metadata, SQLite), the secret
key and the admin's generated password (owner-only files), the chart-data cache
(emptied by every publication) and the logs. Telemetry is off: the content security
policy lets the browser load nothing from outside, so Superset's tracking pixel is
never fetched.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from basin.bi.superset.install import ensure, venv_dir
from basin.common import servers
from basin.common.errors import TerminalError
from basin.common.files import write_private
from basin.common.logging import get_logger
from basin.common.processes import tail
from basin.common.servers import HOST, Served
from basin.config.project import Project

log = get_logger(__name__)

ADMIN = "admin"


def home(root: Path) -> Path:
    return root / ".basin" / "superset"


def cache_dir(root: Path) -> Path:
    return home(root) / "cache"


def expire_cache(root: Path) -> None:
    """Forget every cached chart result: called after each publication, so nobody sees
    the previous publication's numbers after a swap. The folder stays (a running
    Superset writes into it and does not create it again)."""
    folder = cache_dir(root)
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        try:
            entry.unlink()
        except IsADirectoryError:
            import shutil

            shutil.rmtree(entry, ignore_errors=True)
        except FileNotFoundError:
            pass


def _secret(path: Path, size: int = 32) -> str:
    """A value generated once into an owner-only file."""
    write_private(path, secrets.token_urlsafe(size))
    return path.read_text().strip()


def admin_password(root: Path) -> str:
    return _secret(home(root) / "admin-password", 12)


def password_file(root: Path) -> Path:
    return home(root) / "admin-password"


CONFIG = """\
# Written by Basin on every `basin bi serve` from basin.yml: edits here are lost.
# Put your own settings in superset_config_local.py beside it.
SECRET_KEY = {secret!r}
SQLALCHEMY_DATABASE_URI = {metadata!r}
DATA_CACHE_CONFIG = {{
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": {cache!r},
    "CACHE_DEFAULT_TIMEOUT": {timeout},
}}
FEATURE_FLAGS = {{"ENABLE_TEMPLATE_PROCESSING": False}}
PREVENT_UNSAFE_DB_CONNECTIONS = True
# Nothing is loaded from outside this server (no CDN, no telemetry pixel).
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {{
    "content_security_policy": {{
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "script-src": ["'self'", "'strict-dynamic'"],
    }},
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}}
try:
    from superset_config_local import *  # noqa: F403
except ImportError:
    pass
"""


def write_config(project: Project) -> Path:
    root = project.root
    h = home(root)
    h.mkdir(parents=True, exist_ok=True)
    path = h / "superset_config.py"
    path.write_text(
        CONFIG.format(
            secret=_secret(h / "secret-key"),
            metadata=f"sqlite:///{h / 'superset.db'}",
            cache=str(cache_dir(root)),
            timeout=project.config.bi.cache_timeout,
        )
    )
    return path


def environment(root: Path) -> dict[str, str]:
    h = home(root)
    return {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str(h / "superset_config.py"),
        "SUPERSET_HOME": str(h),
        "FLASK_APP": "superset",
        "PYTHONPATH": str(h),  # superset_config_local.py
        "SUPERSET_LOAD_EXAMPLES": "no",
    }


def _state(root: Path) -> Path:
    return home(root) / "serve.json"


def running(root: Path) -> Served | None:
    return servers.running(_state(root))


def _run(bin_dir: Path, args: list[str], env: dict[str, str], log_file: Path, what: str) -> None:
    with log_file.open("ab") as out:
        done = subprocess.run([str(bin_dir / "superset"), *args], env=env, stdout=out,
                              stderr=subprocess.STDOUT)  # fmt: skip
    if done.returncode != 0:
        raise TerminalError(f"Superset could not {what}", hint=f"see {log_file}:\n{tail(log_file)}")


def prepare(project: Project) -> Path:
    """Install Superset if needed, write its config, bring its database up to date and
    create the admin user (once). Returns the virtualenv's ``bin``."""
    root = project.root
    h = home(root)
    logs = h / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    bin_dir = ensure(venv_dir(root), logs / "install.log")
    write_config(project)
    env = environment(root)
    _run(bin_dir, ["db", "upgrade"], env, logs / "setup.log", "set up its database")
    ready = h / ".initialised"
    if not ready.exists():
        _run(
            bin_dir,
            ["fab", "create-admin", "--username", ADMIN, "--password", admin_password(root),
             "--firstname", "Basin", "--lastname", "Admin", "--email", "admin@localhost"],
            env, logs / "setup.log", "create its admin user",
        )  # fmt: skip
        _run(bin_dir, ["init"], env, logs / "setup.log", "initialise its roles")
        ready.touch()
    return bin_dir


def start(project: Project, *, timeout: float = 240.0) -> Served:
    """Start Superset for the project (return at once if it already runs).

    Raises:
        TerminalError: the port is taken, the install or setup failed, or Superset
            exits or does not answer in time.
    """
    with exclusive(project.root):  # two `basin bi serve` at once start one Superset
        return _start(project, timeout)


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Held while Superset is started or assets are imported into it: two imports at
    once would race on the same uuids in Superset's database."""
    with servers.exclusive(home(root)):
        yield


def _start(project: Project, timeout: float) -> Served:
    root = project.root
    if (current := running(root)) is not None:
        return replace(current, already_running=True)
    port = project.config.bi.port
    servers.free_port(port, "bi.port")
    bin_dir = prepare(project)
    return servers.launch(
        "Superset",
        [
            str(bin_dir / "gunicorn"),
            "--workers", "1", "--worker-class", "gthread", "--threads", "4",
            "--bind", f"{HOST}:{port}", "--timeout", "120",
            "superset.app:create_app()",
        ],
        port=port, health="/health", state=_state(root),
        log=home(root) / "logs" / "gunicorn.log", env=environment(root), cwd=home(root),
        timeout=timeout,
    )  # fmt: skip


def stop(root: Path, *, timeout: float = 30.0) -> bool:
    """Stop what ``start`` started; False if nothing was running.

    Raises:
        TerminalError: something still listens on the port afterwards.
    """
    return servers.stop("Superset", _state(root), timeout=timeout)
