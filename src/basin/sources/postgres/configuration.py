"""Configuration of the ``postgres`` source kind."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from basin.core.types import Identifier, StrictModel
from basin.sources.tables import TableEntity


class PostgresSource(StrictModel):
    """An operational PostgreSQL database."""

    kind: Literal["postgres"]
    dsn: SecretStr | None = None
    """A libpq connection string or URL; overrides host/port/user/password/database.
    Use ``${env:NAME}`` to keep it out of the file."""
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: SecretStr | None = None
    """Use ``${env:NAME}``."""
    database: str = "postgres"
    db_schema: str = Field(default="public", alias="schema")
    """Schema of tables named without one."""
    tables: dict[Identifier, TableEntity]
    """Entity name → table or query."""
    description: str | None = None

    model_config = StrictModel.model_config | {"populate_by_name": True}

    @property
    def entity_names(self) -> list[str]:
        return list(self.tables)

    def conninfo(self) -> str:
        """libpq connection string (holds the password: never log it)."""
        if self.dsn is not None:
            return self.dsn.get_secret_value()
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": self.database,
        }
        if self.password is not None:
            parts["password"] = self.password.get_secret_value()
        return " ".join(f"{k}={_quote(v)}" for k, v in parts.items())

    def display(self) -> str:
        """Where the source is, without secrets."""
        if self.dsn is not None:
            return "postgres (dsn)"
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.database}"


def _quote(value: str) -> str:
    if value and all(c.isalnum() or c in "._-/" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
