"""Configuration of the PostgreSQL warehouse."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from basin.common.connections import PostgresConnection
from basin.common.types import StrictModel

SETTING = r"^[0-9]+ ?(us|ms|s|min|h|d|B|kB|MB|GB|TB)?$"
"""A duration or a size as PostgreSQL writes them (``30min``, ``256MB``, ``0``)."""


class SessionSettings(StrictModel):
    """PostgreSQL settings of one workload's sessions (unset: the server's default)."""

    statement_timeout: str | None = Field(default=None, pattern=SETTING)
    """Longest a statement may run, e.g. ``30min`` (``0``: no limit)."""
    lock_timeout: str | None = Field(default=None, pattern=SETTING)
    """Longest a statement waits for a lock, e.g. ``1min``."""
    work_mem: str | None = Field(default=None, pattern=SETTING)
    """Memory per sort or hash before spilling to disk, e.g. ``256MB``."""

    def options(self) -> str:
        """libpq's ``options`` (``-c name=value …``); empty when nothing is set."""
        return " ".join(
            f"-c {name}={value.replace(' ', '')}"
            for name, value in self.model_dump().items()
            if value is not None
        )


class Workloads(StrictModel):
    """Each workload's session settings, so a heavy transform cannot starve loading or
    dashboards: ``load`` for loads and replays, ``transform`` for dbt and the
    publication, ``bi`` for Superset's queries."""

    load: SessionSettings = Field(default_factory=SessionSettings)
    """Loading lake batches (``basin load``, the load step, ``basin replay``)."""
    transform: SessionSettings = Field(default_factory=SessionSettings)
    """dbt's build and tests, and the schema swap that publishes."""
    bi: SessionSettings = Field(default_factory=SessionSettings)
    """Superset's connection (``basin bi apply`` writes them into it), e.g. a
    ``statement_timeout`` so one dashboard query cannot hold the warehouse."""


SchemaName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$", max_length=50)]
"""A lowercase schema name PostgreSQL takes unquoted, short enough for a suffix."""


class SchemaNames(StrictModel):
    """The schemas Basin keeps in the database itself. Projects (or environments) that
    share one database each name their own, as they name their dbt schemas
    (``+schema`` in dbt_project.yml) and ``publish.schemas``: Basin refuses to write
    into a schema another project's runs wrote."""

    raw: SchemaName = "raw"
    """Where loaded batches land (dbt sources read it as ``var('basin_raw_schema')``)."""
    ledger: SchemaName = "_basin"
    """Basin's own tables: the load ledger, the publications, the schemas' owner."""

    @model_validator(mode="after")
    def _distinct(self) -> SchemaNames:
        if self.raw == self.ledger:
            raise ValueError(f"raw and ledger are both {self.raw!r}: give them two names")
        return self


class PostgresWarehouse(PostgresConnection):
    """A PostgreSQL database shared by the team; each environment its own database."""

    engine: Literal["postgres"]
    """Picks this engine."""
    audit_suffix: str = Field(default="_audit", pattern=r"^_[a-z0-9_]+$")
    """Published schemas are built as ``<schema><suffix>`` and swapped in when the gate passes."""
    schemas: SchemaNames = Field(default_factory=SchemaNames)
    """Names of Basin's own schemas, e.g. ``{raw: shop_raw, ledger: shop_basin}`` when
    another project uses the same database."""
    connect_timeout: int = Field(default=10, ge=1)
    """Seconds to wait for a connection."""
    workloads: Workloads = Field(default_factory=Workloads)
    """Session settings per workload (``statement_timeout``, ``lock_timeout``,
    ``work_mem``), sent with each connection; dbt's through ``PGOPTIONS``."""
