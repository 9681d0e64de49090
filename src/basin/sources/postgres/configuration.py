"""Configuration of the ``postgres`` source kind."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from basin.common.connections import PostgresConnection
from basin.common.types import Identifier, StrictModel
from basin.sources.tables import TableEntity


class PostgresSource(PostgresConnection):
    """An operational PostgreSQL database."""

    kind: Literal["postgres"]
    """Picks this source kind."""
    db_schema: str = Field(default="public", alias="schema")
    """Schema of tables named without one."""
    tables: dict[Identifier, TableEntity]
    """Entity name → table or query."""
    description: str | None = None
    """What this source is (shown in the catalog)."""

    model_config = StrictModel.model_config | {"populate_by_name": True}

    @property
    def entity_names(self) -> list[str]:
        return list(self.tables)
