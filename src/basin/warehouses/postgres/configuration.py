"""Configuration of the PostgreSQL warehouse."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from basin.common.connections import PostgresConnection


class PostgresWarehouse(PostgresConnection):
    """A PostgreSQL database shared by the team; each environment its own database."""

    engine: Literal["postgres"]
    """Picks this engine."""
    audit_suffix: str = Field(default="_audit", pattern=r"^_[a-z0-9_]+$")
    """Published schemas are built as ``<schema><suffix>`` and swapped in when the gate passes."""
    connect_timeout: int = Field(default=10, ge=1)
    """Seconds to wait for a connection."""
