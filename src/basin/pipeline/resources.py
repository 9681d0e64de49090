"""What the steps work with: one project in one environment and its resources.

The metadata store, the lake, the warehouse and the lineage client open on first use
(``basin publish`` never touches the lake) and close together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from basin.common.logging import get_logger
from basin.config import Project
from basin.pipeline.reporting import NullReporter, Reporter

if TYPE_CHECKING:
    from basin.lake.storage import Lake
    from basin.lineage.events import Lineage
    from basin.lineage.tracker import Tracker
    from basin.metadata.store import MetadataStore
    from basin.warehouses.base import Warehouse

log = get_logger(__name__)


@dataclass
class Resources:
    """A project in one environment, with its resources opened on first use.

    Attributes:
        wait: seconds a writing command waits for another one of the same project and
            environment (``inf``: as long as it takes; None: fail at once).
        command: the Basin command running (the parent job of lineage events).
    """

    project: Project
    reporter: Reporter = field(default_factory=NullReporter)
    verbose: bool = False
    wait: float | None = None
    command: str = "run"

    @property
    def env(self) -> str:
        return self.project.env_name

    @cached_property
    def store(self) -> MetadataStore:
        from basin.metadata.store import open_store

        return open_store(
            self.project.metadata_url,
            env=self.env,
            schema=self.project.env.metadata.db_schema,
            lock_dir=self.project.state_path("locks"),
        )

    @cached_property
    def lake(self) -> Lake:
        from basin.lake.storage import Lake

        lake = Lake.of(self.project)
        lake.check()  # a bucket or credentials problem, named before any work starts
        return lake

    @cached_property
    def warehouse(self) -> Warehouse:
        from basin.warehouses.base import warehouse_for

        return warehouse_for(self.project)

    @cached_property
    def lineage(self) -> Lineage:
        from basin.lineage.events import Lineage

        cfg = self.project.config.lineage
        namespace = cfg.namespace or f"basin.{self.project.config.project}.{self.env}"
        return Lineage(cfg, namespace, self.project.state_dir)

    @cached_property
    def tracker(self) -> Tracker:
        from basin.lineage.tracker import Tracker

        return Tracker(self.project, self.store, self.lake, self.warehouse, self.lineage)

    def track(self, what: str, *args: Any) -> Any:
        """Record lineage and catalog entries (``Tracker.<what>``). They describe the
        data; they never decide its fate: a failure here is logged, and the step's work
        stands."""
        try:
            return getattr(self.tracker, what)(*args)
        except Exception as exc:  # noqa: BLE001 - lineage must not fail a build
            log.warning(
                "lineage and catalog not recorded (%s): %s",
                what,
                f"{type(exc).__name__}: {exc}"[:300],
            )
            return None

    def lock_name(self, entity: tuple[str, str] | None = None) -> str:
        """The lock of this project and environment, or of one entity in it."""
        name = f"{self.project.config.project}/{self.env}"
        return name + (f"/entity/{entity[0]}.{entity[1]}" if entity else "")

    def close(self) -> None:
        if "lineage" in self.__dict__:
            self.lineage.close()
        if "store" in self.__dict__:
            self.store.close()
        if "warehouse" in self.__dict__:
            self.warehouse.close()
