"""The project file, ``basin.yml``, as typed pydantic models.

Each stage keeps its own settings beside it (``sources/postgres/configuration.py``,
``warehouses/duckdb/configuration.py``, …, importing only ``basin.common``); this
module assembles them into :class:`ProjectConfig`. Loading lives in
:mod:`basin.config.project`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from basin.access.configuration import AccessConfig
from basin.bi.configuration import BiConfig
from basin.common.sql import LEDGER_SCHEMA, RAW_SCHEMA
from basin.common.types import Identifier, StrictModel
from basin.lake.configuration import LakeConfig
from basin.lineage.configuration import LineageConfig
from basin.observe.configuration import AlertsConfig, MetricsConfig, MonitorsConfig, SloConfig
from basin.orchestration.configuration import OrchestrationConfig
from basin.quality.configuration import QualityConfig
from basin.sources.files.configuration import FilesSource
from basin.sources.postgres.configuration import PostgresSource
from basin.sources.rest.configuration import RestSource
from basin.sources.sqlite.configuration import SQLiteSource
from basin.warehouses.duckdb.configuration import DuckDBWarehouse
from basin.warehouses.postgres.configuration import PostgresWarehouse
from basin.warehouses.snowflake.configuration import SnowflakeWarehouse
from basin.web.configuration import WebConfig

SourceConfig = Annotated[
    FilesSource | PostgresSource | SQLiteSource | RestSource, Field(discriminator="kind")
]
"""A source system; ``kind`` picks its folder under ``basin/sources/``."""


WarehouseConfig = Annotated[
    DuckDBWarehouse | PostgresWarehouse | SnowflakeWarehouse, Field(discriminator="engine")
]
"""A warehouse engine; ``engine`` picks its folder under ``basin/warehouses/``."""


class MetadataConfig(StrictModel):
    """The metadata store: runs, steps, batches, watermarks, publications."""

    url: str = "sqlite:///metadata.db"
    """SQLAlchemy URL. ``sqlite:///name.db`` is relative to the state folder;
    ``postgresql+psycopg://user@host/db`` for a shared store."""
    db_schema: str | None = Field(default=None, alias="schema")
    """PostgreSQL schema for Basin's tables (default: the connection's search_path)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


class ServiceConfig(StrictModel):
    """A process Basin starts for the run."""

    name: str
    """Name in logs and errors; its log file is ``.basin/<env>/logs/<name>.log``."""
    command: list[str]
    """Program and arguments; ``python`` means the interpreter running Basin."""
    cwd: str = "."
    """Working folder, relative to basin.yml."""
    ready_url: str
    """HTTP URL that answers 2xx once the service is up."""
    timeout: float = 30.0
    """Seconds to wait for readiness."""
    env: dict[str, str] = {}
    """Extra environment variables for the process."""
    reuse_running: bool = False
    """Use a process that already answers at ``ready_url`` instead of failing."""
    sources: list[str] = []
    """Sources that read from it; it is started only when one of them is extracted
    (default: whenever anything is extracted)."""


class EnvironmentConfig(StrictModel):
    """One deployment target such as ``dev`` or ``prod``."""

    state_dir: str | None = None
    """Folder for this environment's files; default ``.basin/<env>``."""
    warehouse: WarehouseConfig = Field(default_factory=DuckDBWarehouse)
    """Where raw data lands and dbt builds."""
    lake: LakeConfig = Field(default_factory=LakeConfig)
    """Object-storage lake."""
    metadata: MetadataConfig = Field(default_factory=MetadataConfig)
    """Metadata store."""
    publish_dir: str = "published"
    """Folder (relative to the state folder) of the published snapshot."""
    services: list[ServiceConfig] = Field(default_factory=list)
    """Local processes to start for extraction (e.g. a demo API), stopped afterwards."""

    @property
    def own_schemas(self) -> tuple[str, str]:
        """Basin's own schemas in the warehouse: (raw, ledger)."""
        names = getattr(self.warehouse, "schemas", None)
        return (names.raw, names.ledger) if names is not None else (RAW_SCHEMA, LEDGER_SCHEMA)


class DbtConfig(StrictModel):
    """The dbt project Basin builds."""

    project_dir: str = "dbt"
    """Folder holding ``dbt_project.yml``, relative to ``basin.yml``."""
    threads: int = Field(default=1, ge=1, le=64)
    """dbt threads."""
    target_schema: str = "main"
    """Default schema of the generated profile; models set their own with ``+schema``."""


class ExtractConfig(StrictModel):
    """How extraction runs."""

    parallelism: int = Field(default=4, ge=1, le=64)
    """Entities extracted at the same time."""
    retry_attempts: int = Field(default=3, ge=1, le=20)
    """Attempts to read a database source that cannot be reached (connection refused
    or reset), waiting 1 s, 2 s, 4 s … between them. REST sources retry per request
    (their own ``retries``)."""


class LoadConfig(StrictModel):
    """How loading runs."""

    retry_attempts: int = Field(default=3, ge=1, le=20)
    """Attempts to reach a warehouse server that cannot be reached (connection refused,
    reset or timed out), waiting 1 s, 2 s, 4 s … between them. Only connecting is
    retried: a batch whose transaction failed is never loaded twice."""


class QuarantineConfig(StrictModel):
    """What quarantined rows mean for a run."""

    fail_run: bool = False
    """``true``: a command that quarantined rows exits with status 3 once its extract
    has finished (the good rows are in the lake), and ``basin run`` stops there, before
    loading; ``false``: the rows are listed and the run goes on."""


_OWN_SCHEMA = (
    "{} is Basin's own schema{} (loaded data, ledger), not one to publish: name the "
    "schema(s) your marts are built in, e.g. [marts]"
)


class PublishConfig(StrictModel):
    """What consumers see once the gate passes."""

    schemas: list[Identifier] = Field(default_factory=lambda: ["marts"])
    """Warehouse schemas that consumers read once the gate passed."""
    keep: int = Field(default=3, ge=0, le=100)
    """DuckDB: earlier publications kept beside the published snapshot
    (``published/history/<run id>/``) for ``basin publish --restore``; 0 keeps none.
    Each costs the disk of one snapshot once replaced."""
    duckdb_storage_version: str = Field(default="v1.0.0", pattern=r"^v\d+\.\d+\.\d+$")
    """DuckDB only: storage format of the published snapshot file, so that the BI
    tool's DuckDB (Superset's duckdb-engine) can open it; v1.0.0 is read by DuckDB 1.0
    and newer."""

    @field_validator("schemas")
    @classmethod
    def _not_basins_own(cls, schemas: list[str]) -> list[str]:
        # Basin's own schemas: the loaded raw tables and the load ledger. Publishing
        # one would swap it away (PostgreSQL) or empty it of what dbt does not build.
        # (Renamed ones, warehouse.schemas, are checked with the environments.)
        own = [s for s in schemas if s.lower() in (RAW_SCHEMA, LEDGER_SCHEMA)]
        if own:
            raise ValueError(_OWN_SCHEMA.format(", ".join(own), ""))
        return schemas


class ProjectConfig(StrictModel):
    """The whole ``basin.yml``."""

    _secrets: list[tuple[str, str, str]] = PrivateAttr(default_factory=list)
    """``(where, ${provider:reference}, provider)`` of each secret resolved at load."""

    project: Identifier
    """Project name."""
    default_env: str | None = None
    """Environment used when neither ``--env`` nor ``BASIN_ENV`` is given."""
    environments: dict[Identifier, EnvironmentConfig] = Field(
        default_factory=lambda: {"dev": EnvironmentConfig()}
    )
    """Name → environment."""
    sources: dict[Identifier, SourceConfig] = Field(default_factory=dict)
    """Name → source system."""
    extract: ExtractConfig = Field(default_factory=ExtractConfig)
    """Extraction settings."""
    load: LoadConfig = Field(default_factory=LoadConfig)
    """Loading settings."""
    quarantine: QuarantineConfig = Field(default_factory=QuarantineConfig)
    """What quarantined rows mean for a run."""
    dbt: DbtConfig = Field(default_factory=DbtConfig)
    """dbt project settings."""
    publish: PublishConfig = Field(default_factory=PublishConfig)
    """Publication settings."""
    quality: QualityConfig = Field(default_factory=QualityConfig)
    """Quality gate settings."""
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)
    """Scheduling on Airflow: schedule, retries, deadline."""
    lineage: LineageConfig = Field(default_factory=LineageConfig)
    """OpenLineage events and column lineage."""
    monitors: MonitorsConfig = Field(default_factory=MonitorsConfig)
    """Freshness, volume, schema-drift and check monitors, evaluated after each run."""
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    """Channels incidents are sent to: Slack, e-mail, PagerDuty, webhooks."""
    access: AccessConfig = Field(default_factory=AccessConfig)
    """Roles, users and what they may read and write (``basin access plan|apply``)."""
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    """Prometheus metrics: the textfile written after each run, the port served on."""
    slos: SloConfig = Field(default_factory=SloConfig)
    """Service-level objectives: job success, freshness, data quality."""
    web: WebConfig = Field(default_factory=WebConfig)
    """Basin's web UI: runs, tables, quality, lineage, catalog, incidents."""
    bi: BiConfig = Field(default_factory=BiConfig)
    """Apache Superset over the published marts, dashboards kept as code."""

    @model_validator(mode="after")
    def _bi_env_exists(self) -> ProjectConfig:
        if self.bi.env is not None and self.bi.env not in self.environments:
            raise ValueError(
                f"bi.env '{self.bi.env}' is not one of the environments: "
                f"{', '.join(self.environments)}"
            )
        return self

    @model_validator(mode="after")
    def _publishes_none_of_basins_own(self) -> ProjectConfig:
        # Basin's own schemas: the loaded raw tables and the load ledger. Publishing
        # one would swap it away (PostgreSQL) or empty it of what dbt does not build.
        for name, env in self.environments.items():
            own = env.own_schemas
            clash = [s for s in self.publish.schemas if s.lower() in own]
            if clash:
                where = f" in environment {name!r}"
                raise ValueError("publish.schemas: " + _OWN_SCHEMA.format(", ".join(clash), where))
        return self

    @model_validator(mode="after")
    def _default_env_exists(self) -> ProjectConfig:
        if self.default_env is not None and self.default_env not in self.environments:
            raise ValueError(
                f"default_env '{self.default_env}' is not one of the environments: "
                f"{', '.join(self.environments)}"
            )
        return self
