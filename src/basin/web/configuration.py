"""Settings of Basin's web UI (``web:`` in basin.yml)."""

from __future__ import annotations

from pydantic import Field

from basin.common.types import StrictModel

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class WebConfig(StrictModel):
    """Basin's own web UI: runs, published tables, quality, lineage, catalog, incidents."""

    port: int = Field(default=8090, ge=1, le=65535)
    """Port of ``basin web`` (and of the UI ``basin serve`` starts)."""
    host: str = "127.0.0.1"
    """Address to listen on. Any address but the loopback requires a login: user
    ``admin``, password generated into ``.basin/web/passwords.json``."""
    serve: bool = True
    """``basin serve`` starts the UI too, for every environment of the project."""
    page_size: int = Field(default=50, ge=5, le=1000)
    """Rows per page of the run and incident lists."""

    @property
    def needs_login(self) -> bool:
        return self.host not in LOOPBACK
