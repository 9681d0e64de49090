"""The dbt-snowflake profile output: key-pair auth, the transform compute warehouse."""

from __future__ import annotations

from typing import Any

from basin.warehouses.snowflake.configuration import SnowflakeWarehouse as SnowflakeConfig

PASSPHRASE_VAR = "BASIN_DBT_SNOWFLAKE_KEY_PASSPHRASE"


def dbt_target(
    cfg: SnowflakeConfig, schema: str, threads: int
) -> tuple[dict[str, Any], dict[str, str]]:
    target: dict[str, Any] = {
        "type": "snowflake",
        "account": cfg.account,
        "user": cfg.user,
        "database": cfg.database,
        "warehouse": cfg.compute.transform,
        "schema": schema,
        "threads": threads,
        "private_key_path": cfg.private_key_path,
        "client_session_keep_alive": False,
        "query_tag": "basin-dbt",
    }
    if cfg.role:
        target["role"] = cfg.role
    env: dict[str, str] = {}
    if cfg.private_key_passphrase is not None:
        target["private_key_passphrase"] = "{{ env_var('" + PASSPHRASE_VAR + "') }}"
        env[PASSPHRASE_VAR] = cfg.private_key_passphrase.get_secret_value()
    return target, env
