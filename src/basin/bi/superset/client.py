"""Superset's REST API, as the admin: import and export assets, chart data, SQL Lab."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import httpx

from basin.common.errors import TerminalError


class SupersetError(TerminalError):
    """Superset refused a request (the message is Superset's own)."""


def _errors(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:2000]
    if isinstance(body, dict) and body.get("errors"):
        return "; ".join(
            str(e.get("message")) + (f" {e['extra']}" if e.get("extra") else "")
            for e in body["errors"]
        )
    return str(body.get("message", body)) if isinstance(body, dict) else str(body)


class Superset:
    """A logged-in session (a JWT for the API, a CSRF token for its POSTs)."""

    def __init__(self, url: str, user: str, password: str, *, timeout: float = 300) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=timeout)
        login = self.http.post(
            "/api/v1/security/login",
            json={"username": user, "password": password, "provider": "db", "refresh": True},
        )
        if login.status_code != 200:
            raise SupersetError(
                f"cannot log in to Superset at {url} as {user}: {_errors(login)}",
                hint="the admin password is in .basin/superset/admin-password",
            )
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        self.http.headers["Referer"] = url
        token = self.http.get("/api/v1/security/csrf_token/")
        self.http.headers["X-CSRFToken"] = token.json()["result"]

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Superset:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def import_assets(self, files: dict[str, str], passwords: dict[str, str]) -> None:
        """Import a bundle (``databases/…``, ``datasets/…``, ``charts/…``,
        ``dashboards/…`` YAML by path), overwriting what has the same uuids."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as bundle:
            for path, text in sorted(files.items()):
                bundle.writestr(f"bundle/{path}", text)
        response = self.http.post(
            "/api/v1/assets/import/",
            files={"bundle": ("bundle.zip", buffer.getvalue(), "application/zip")},
            data={"passwords": json.dumps(passwords), "overwrite": "true"},
        )
        if response.status_code != 200:
            raise SupersetError(f"Superset refused the dashboards: {_errors(response)}")

    def export_assets(self) -> dict[str, str]:
        """Every asset, as ``{path: yaml}`` (paths without the bundle's top folder)."""
        response = self.http.get("/api/v1/assets/export/")
        if response.status_code != 200:
            raise SupersetError(f"Superset could not export its assets: {_errors(response)}")
        out = {}
        with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
            for name in bundle.namelist():
                path = name.split("/", 1)[1] if "/" in name else name
                out[path] = bundle.read(name).decode()
        return out

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        if response.status_code != 200:
            raise SupersetError(f"GET {path}: {_errors(response)}")
        return response.json()

    def chart_data(self, query_context: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of one chart query (``POST /api/v1/chart/data``)."""
        response = self.http.post("/api/v1/chart/data", json=query_context)
        if response.status_code != 200:
            raise SupersetError(f"Superset could not query the chart: {_errors(response)}")
        return list(response.json()["result"][0]["data"])

    def sql(self, database_id: int, sql: str) -> list[dict[str, Any]]:
        """Run ``sql`` in SQL Lab; raise :class:`SupersetError` with Superset's message."""
        response = self.http.post(
            "/api/v1/sqllab/execute/",
            json={"database_id": database_id, "sql": sql, "runAsync": False},
        )
        if response.status_code != 200:
            raise SupersetError(_errors(response))
        return list(response.json().get("data") or [])
