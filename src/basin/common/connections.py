"""Connection settings shared by sources and warehouses of the same kind."""

from __future__ import annotations

from pydantic import SecretStr

from basin.common.types import StrictModel


class PostgresConnection(StrictModel):
    """How to reach a PostgreSQL server. Keep secrets in ``${env:NAME}``."""

    dsn: SecretStr | None = None
    """A libpq connection string or URL; overrides host/port/user/password/database."""
    host: str = "127.0.0.1"
    """Server host name or address."""
    port: int = 5432
    """Server port."""
    user: str = "postgres"
    """Role to connect as."""
    password: SecretStr | None = None
    """Password; use ``${env:NAME}`` (or key-based auth where the server allows)."""
    database: str = "postgres"
    """Database name."""

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
        from psycopg.conninfo import make_conninfo

        return make_conninfo("", **parts)

    def lineage_address(self) -> tuple[str, str]:
        """OpenLineage namespace (``postgres://host:port``) and database name."""
        if self.dsn is not None:
            from psycopg.conninfo import conninfo_to_dict

            info = conninfo_to_dict(self.dsn.get_secret_value())
            host, port = info.get("host") or "localhost", info.get("port") or 5432
            return f"postgres://{host}:{port}", str(info.get("dbname") or info.get("user") or "")
        return f"postgres://{self.host}:{self.port}", self.database

    def display(self) -> str:
        """Where the server is, without secrets."""
        if self.dsn is not None:
            from psycopg.conninfo import conninfo_to_dict

            info = conninfo_to_dict(self.dsn.get_secret_value())
            return f"postgres://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.database}"
