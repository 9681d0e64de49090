"""``basin web``: the UI for one project's environments, served by uvicorn."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from basin.common.errors import TerminalError
from basin.common.files import write_private
from basin.config.project import Project
from basin.web.app import Environment, Site, create_app, missing_assets

PASSWORD_USER = "admin"


def password_file(root: Path) -> Path:
    return root / ".basin" / "web" / "passwords.json"


def login_password(root: Path) -> str:
    """The UI's admin password, generated once into an owner-only file."""
    path = password_file(root)
    write_private(path, json.dumps({PASSWORD_USER: secrets.token_urlsafe(16)}) + "\n")
    return str(json.loads(path.read_text())[PASSWORD_USER])


def links(project: Project) -> dict[str, str]:
    """The other tools Basin serves for this project, for the UI's footer."""
    config = project.config
    found = {"Airflow": f"http://127.0.0.1:{config.orchestration.port}"}
    if config.bi.serve:
        found["Superset"] = f"http://127.0.0.1:{config.bi.port}"
    if config.metrics.serve:
        found["Prometheus metrics"] = f"http://127.0.0.1:{config.metrics.port}/metrics"
    return found


def site_for(projects: list[Project], *, host: str) -> Site:
    """A site showing each of ``projects`` (one per environment; the first is the default)."""
    first = projects[0]
    config = first.config.web
    return Site(
        project=first.config.project,
        environments={
            p.env_name: Environment(p.env_name, p.metadata_url, p.env.metadata.db_schema)
            for p in projects
        },
        default_env=first.env_name,
        links=links(first),
        password=login_password(first.root)
        if host not in ("127.0.0.1", "localhost", "::1")
        else None,
        page_size=config.page_size,
    )


def serve(site: Site, *, host: str, port: int) -> None:
    """Serve ``site`` until interrupted (Ctrl-C or SIGTERM).

    Raises:
        TerminalError: the vendored browser files are missing, or the port is taken.
    """
    import socket

    import uvicorn

    gone = missing_assets()
    if gone:
        raise TerminalError(
            f"the web UI's browser files are not installed ({', '.join(gone)})",
            hint="they come from npm when Basin is built: run `make install`, or "
            "`python scripts/vendor_web_assets.py` in a source checkout",
        )
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise TerminalError(
                f"cannot serve the web UI on {host}:{port}: {exc.strerror or exc}",
                hint="stop what listens there, or choose another port (--port, web.port)",
            ) from exc
    config = uvicorn.Config(
        create_app(site),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        site.close()
