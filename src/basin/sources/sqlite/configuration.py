"""Configuration of the ``sqlite`` source kind."""

from __future__ import annotations

from typing import Literal

from basin.common.types import Identifier, StrictModel
from basin.sources.tables import TableEntity


class SQLiteSource(StrictModel):
    """A SQLite database file. ``query:`` entities are DuckDB SQL over its tables."""

    kind: Literal["sqlite"]
    """Picks this source kind."""
    path: str
    """The database file, relative to basin.yml."""
    tables: dict[Identifier, TableEntity]
    """Entity name → table or query."""
    description: str | None = None
    """What this source is (shown in the catalog)."""

    @property
    def entity_names(self) -> list[str]:
        return list(self.tables)
