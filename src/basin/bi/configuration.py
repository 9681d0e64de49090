"""Settings of the BI server (``bi:`` in basin.yml): Apache Superset over the published marts."""

from __future__ import annotations

from pydantic import Field

from basin.common.types import StrictModel


class BiConfig(StrictModel):
    """Apache Superset on 127.0.0.1, reading the published marts (``basin bi serve``)."""

    serve: bool = False
    """``basin serve`` starts Superset too (it always can: ``basin serve --bi``)."""
    port: int = Field(default=8088, ge=1, le=65535)
    """Port of Superset on 127.0.0.1."""
    env: str | None = None
    """The environment whose published marts Superset reads (default: the project's
    default environment)."""
    dashboards: str = "dashboards"
    """Folder of the dashboards as code (Superset's export format), relative to basin.yml."""
    user: str | None = None
    """On a PostgreSQL warehouse: the user of ``access.users`` Superset connects as (a
    read-only role on the published schemas, e.g. a ``bi`` service account). On DuckDB
    Superset opens the published snapshot read-only and needs no user."""
    cache_timeout: int = Field(default=86400, ge=0)
    """Seconds Superset keeps a chart's data; every publication empties the cache."""
