"""Basin's web UI: a FastAPI app rendering the metadata store with Jinja templates.

Read-only: pages query the metadata store of the environment in ``?env=`` (the
project's default otherwise) and never the warehouse. The browser files come from npm
packages vendored into the wheel at build time (``assets.json``), so the UI works
offline; nothing is loaded from a CDN.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from basin.common.errors import BasinError
from basin.web import queries

HERE = Path(__file__).parent
STATIC = HERE / "static"
ASSETS = HERE / "assets.json"


class StoreUnavailable(Exception):
    """The environment's metadata store cannot be read (not created yet, or unreachable)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class Environment:
    """One environment the UI shows: how to open its metadata store."""

    name: str
    url: str
    schema: str | None = None
    _store: Any = None


@dataclass
class Site:
    """What the app serves: the project's environments and the links it offers."""

    project: str
    environments: dict[str, Environment]
    default_env: str
    links: dict[str, str] = field(default_factory=dict)
    """Other tools on 127.0.0.1: name → URL (Airflow, metrics, Superset)."""
    password: str | None = None
    """Required (HTTP basic, user ``admin``) when the UI listens beyond the loopback."""
    page_size: int = 50
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def store(self, env: str) -> Any:
        """The environment's store, opened on first use; never created or migrated here."""
        from basin.metadata.store import MetadataStore

        if env not in self.environments:
            raise HTTPException(404, f"no environment named {env!r} in this project")
        e = self.environments[env]
        with self._lock:
            if e._store is None:
                if e.url.startswith("sqlite:///") and not Path(e.url[len("sqlite:///") :]).exists():
                    raise StoreUnavailable(
                        f"environment {env} has no metadata store yet",
                        f"run the platform once: basin --env {env} run",
                    )
                store = MetadataStore(e.url, env=env, schema=e.schema)
                if not store._at_head():
                    store.close()
                    raise StoreUnavailable(
                        f"the metadata store of {env} ({store.safe_url}) is not at Basin's "
                        "newest revision, or cannot be reached",
                        f"run any Basin command in it once (e.g. basin --env {env} status) "
                        "to upgrade it; `basin doctor` checks the connection",
                    )
                e._store = store
            return e._store

    def close(self) -> None:
        for e in self.environments.values():
            if e._store is not None:
                e._store.close()
                e._store = None


def _ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "—"
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ("—" if value is None else str(value))


def _check_name(check: Any) -> str:
    """A check's readable name: dbt names a unit test after its model, so take its own."""
    if str(check.unique_id).startswith("unit_test."):
        return str(check.unique_id).rsplit(".", 1)[-1]
    return str(check.name)


def missing_assets() -> list[str]:
    """Vendored browser files the UI needs that are not installed."""
    packages = json.loads(ASSETS.read_text())["packages"]
    return [
        dest
        for spec in packages.values()
        for dest in spec["files"].values()
        if not (STATIC / "vendor" / dest).is_file()
    ]


def create_app(site: Site) -> FastAPI:
    """The UI for ``site``; its routes read the stores through ``site``."""
    app = FastAPI(title=f"Basin · {site.project}", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(
        ago=_ago, duration=_duration, when=_when, number=_number, check_name=_check_name
    )
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.state.site = site

    if site.password is not None:
        expected = base64.b64encode(f"admin:{site.password}".encode()).decode()

        @app.middleware("http")
        async def _login(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            given = request.headers.get("authorization", "")
            if request.url.path != "/healthz" and not hmac.compare_digest(
                given.encode(), f"Basic {expected}".encode()
            ):
                return PlainTextResponse(
                    "log in as admin with the password in .basin/web/passwords.json",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="Basin"'},
                )
            return await call_next(request)

    def env_of(request: Request) -> str:
        return request.query_params.get("env") or site.default_env

    def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        env = env_of(request)

        def url(path: str, **params: Any) -> str:
            query = {k: v for k, v in params.items() if v not in (None, "", False)}
            if env != site.default_env:
                query["env"] = env
            return path + ("?" + urlencode(query) if query else "")

        return templates.TemplateResponse(
            request,
            template,
            {
                "site": site,
                "env": env,
                "url": url,
                "now": datetime.now(UTC),
                "path": request.url.path,
                **context,
            },
            status_code=status_code,
        )

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(request: Request, exc: StoreUnavailable) -> Response:
        return render(
            request, "error.html", 503, title="No metadata", message=str(exc), hint=exc.hint
        )

    @app.exception_handler(BasinError)
    async def _basin_error(request: Request, exc: BasinError) -> Response:
        return render(
            request, "error.html", 500, title="Error", message=str(exc), hint=exc.hint or ""
        )

    @app.exception_handler(HTTPException)
    async def _not_found(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return render(
            request,
            "error.html",
            exc.status_code,
            title="Not found" if exc.status_code == 404 else "Error",
            message=str(exc.detail),
            hint="",
        )

    def store(request: Request) -> Any:
        return site.store(env_of(request))

    def page_number(request: Request) -> int:
        try:
            return max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            return 1

    @app.get("/healthz")
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        return render(request, "overview.html", **queries.overview(store(request)))

    @app.get("/runs", response_class=HTMLResponse)
    def runs(request: Request, status: str | None = None, command: str | None = None) -> Response:
        s = store(request)
        page = queries.runs_page(
            s, page_number(request), site.page_size, status=status, command=command
        )
        return render(
            request,
            "runs.html",
            page=page,
            status=status,
            command=command,
            commands=queries.run_commands(s),
        )

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(request: Request, run_id: str) -> Response:
        detail = queries.run_detail(store(request), run_id)
        if detail is None:
            raise HTTPException(404, f"no run {run_id} in environment {env_of(request)}")
        return render(request, "run.html", d=detail)

    @app.get("/tables", response_class=HTMLResponse)
    def tables(request: Request) -> Response:
        return render(request, "tables.html", **queries.tables(store(request)))

    @app.get("/quality", response_class=HTMLResponse)
    def quality(request: Request, status: str | None = None) -> Response:
        return render(
            request, "quality.html", status=status, **queries.latest_checks(store(request), status)
        )

    @app.get("/quality/{unique_id:path}", response_class=HTMLResponse)
    def check(request: Request, unique_id: str) -> Response:
        history = queries.check_history(store(request), unique_id)
        if history is None:
            raise HTTPException(404, f"no results for the check {unique_id}")
        return render(request, "check.html", **history)

    @app.get("/lineage", response_class=HTMLResponse)
    def lineage(request: Request, focus: str | None = None) -> Response:
        graph = queries.lineage_graph(store(request))
        return render(request, "lineage.html", graph=graph, focus=focus)

    @app.get("/api/lineage")
    def lineage_api(request: Request) -> JSONResponse:
        return JSONResponse(queries.lineage_graph(store(request)))

    @app.get("/api/datasets/{key:path}")
    def dataset_api(request: Request, key: str) -> JSONResponse:
        found = queries.column_lineage(store(request), key)
        if found is None:
            raise HTTPException(404, f"no dataset {key}")
        return JSONResponse(
            {
                "key": found["key"],
                "description": found["dataset"].description if found["dataset"] else None,
                "columns": found["columns"],
                "upstream": found["upstream"],
                "downstream": found["downstream"],
            }
        )

    @app.get("/catalog", response_class=HTMLResponse)
    def catalog(request: Request, q: str = "") -> Response:
        return render(request, "catalog.html", q=q, results=queries.search(store(request), q))

    @app.get("/datasets/{key:path}", response_class=HTMLResponse)
    def dataset(request: Request, key: str) -> Response:
        found = queries.column_lineage(store(request), key)
        if found is None:
            raise HTTPException(404, f"no dataset {key} in the catalog")
        return render(request, "dataset.html", d=found)

    @app.get("/incidents", response_class=HTMLResponse)
    def incidents(request: Request, open: bool = False) -> Response:
        page = queries.incidents_page(
            store(request), page_number(request), site.page_size, open_only=open
        )
        return render(request, "incidents.html", page=page, open_only=open)

    @app.get("/incidents/{incident_id}", response_class=HTMLResponse)
    def incident(request: Request, incident_id: int) -> Response:
        found = queries.incident(store(request), incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id} in environment {env_of(request)}")
        return render(request, "incident.html", **found)

    return app
