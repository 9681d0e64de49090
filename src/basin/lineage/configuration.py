"""Configuration of lineage (``lineage:`` in basin.yml)."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator

from basin.common.types import StrictModel


class LineageConfig(StrictModel):
    """Where Basin's OpenLineage events go."""

    enabled: bool = True
    """Emit an OpenLineage event at the start and end of every step."""
    transport: Literal["file", "http", "console"] = "file"
    """``file``: one JSON event per line under the environment's state folder;
    ``http``: POST to an OpenLineage API such as Marquez; ``console``: Basin's log."""
    path: str = "openlineage/events.jsonl"
    """File transport: the file, relative to the environment's state folder."""
    url: str | None = None
    """HTTP transport: base URL of the receiver (``http://localhost:5000`` for Marquez)."""
    endpoint: str = "api/v1/lineage"
    """HTTP transport: path of the lineage endpoint under ``url``."""
    api_key: SecretStr | None = None
    """HTTP transport: bearer token, e.g. ``${env:MARQUEZ_API_KEY}``."""
    namespace: str | None = None
    """Namespace of Basin's jobs (default ``basin.<project>.<env>``)."""
    column_lineage: bool = True
    """Derive column lineage of every dbt model from its compiled SQL (sqlglot)."""

    @model_validator(mode="after")
    def _http_needs_url(self) -> LineageConfig:
        if self.transport == "http" and not self.url:
            raise ValueError("transport http needs url (e.g. http://localhost:5000 for Marquez)")
        return self
