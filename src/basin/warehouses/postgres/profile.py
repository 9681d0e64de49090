"""The dbt-postgres profile output; the password reaches dbt through the environment."""

from __future__ import annotations

from typing import Any

from psycopg.conninfo import conninfo_to_dict

from basin.warehouses.postgres.configuration import PostgresWarehouse as PostgresConfig

PASSWORD_VAR = "BASIN_DBT_PG_PASSWORD"


def dbt_target(
    cfg: PostgresConfig, schema: str, threads: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """(profile output, environment variables dbt needs: the password, never in the file)."""
    info = conninfo_to_dict(cfg.conninfo())
    password = str(info.get("password") or "")
    target = {
        "type": "postgres",
        "host": str(info.get("host", "127.0.0.1")),
        "port": int(str(info.get("port") or 5432)),
        "user": str(info.get("user", "postgres")),
        "password": "{{ env_var('" + PASSWORD_VAR + "', '') }}",
        "dbname": str(info.get("dbname", "postgres")),
        "schema": schema,
        "threads": threads,
        "connect_timeout": cfg.connect_timeout,
    }
    return target, {PASSWORD_VAR: password}
