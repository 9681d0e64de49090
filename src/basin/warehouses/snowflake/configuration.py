"""Configuration of the Snowflake warehouse: key-pair auth, a compute warehouse per workload."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from basin.common.types import StrictModel


class Compute(StrictModel):
    """Separate virtual warehouses so loading, dbt and BI never queue behind each other."""

    load: str
    """Runs COPY INTO."""
    transform: str
    """Runs dbt."""
    bi: str
    """Serves dashboards."""


class SnowflakeWarehouse(StrictModel):
    engine: Literal["snowflake"]
    """Picks this engine."""
    account: str
    """Account identifier, e.g. ``myorg-myaccount``."""
    user: str
    """A service user with key-pair authentication (passwords are not supported)."""
    role: str | None = None
    """Role to use (the user's default when omitted)."""
    database: str
    """One database per environment (``ANALYTICS_DEV``, ``ANALYTICS_PROD``)."""
    private_key_path: str
    """PEM file of the service user's private key."""
    private_key_passphrase: SecretStr | None = None
    """Use ``${env:NAME}``."""
    compute: Compute
    """A virtual warehouse per workload: load, transform, BI."""
    storage_integration: str
    """Storage integration that lets the external stage read the lake bucket."""
    stage: str = "_basin.lake"
    """External stage over the lake, created if missing."""
    audit_suffix: str = Field(default="_audit", pattern=r"^_[a-z0-9_]+$")
    """Suffix of the schemas dbt builds into before publishing (``MARTS_AUDIT``)."""
