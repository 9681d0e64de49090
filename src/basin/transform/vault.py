"""The Data Vault spec of a dbt project: ``vault.yml`` beside ``dbt_project.yml``.

Hubs, links, satellites, point-in-time (PIT) and bridge tables, each an entry by name;
a model file says which one it builds (``{{ basin.hub('customer') }}`` in
``models/vault/hubs/hub_customer.sql``). Basin reads and checks the file before dbt
runs — a satellite naming a hub that is not there, a bridge whose links do not chain,
each problem named by its place in the file — and hands it to Basin's dbt package as the variable
``basin_vault``.

```yaml
hubs:
  customer: {source: stg_finance__customers, keys: [customer_id], record_source: finance.customers}
links:
  customer_account:
    source: stg_finance__accounts
    hubs: {customer: [customer_id], account: [account_id]}
    record_source: finance.accounts
satellites:
  customer: {source: stg_finance__customers, parent: customer, keys: [customer_id],
             attributes: [first_name, email, segment], record_source: finance.customers}
pits:
  customer: {hub: customer, satellites: [customer]}
bridges:
  customer_transaction: {hub: customer, links: [customer_account, account_transaction]}
effectivity:
  customer_account: {link: customer_account, driving_hub: account}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from basin.common.errors import ConfigError
from basin.common.types import Identifier, StrictModel

FILE = "vault.yml"


class Hub(StrictModel):
    """One row per business key."""

    source: str
    """The dbt model the keys come from (a staging model with ``loaded_at``)."""
    keys: list[Identifier] = Field(min_length=1)
    """The business key's columns."""
    record_source: str
    """Where the rows come from, recorded on each (``finance.customers``)."""


class Link(StrictModel):
    """One row per relationship between hubs' keys."""

    source: str
    """The dbt model the relationship is read from."""
    hubs: dict[Identifier, list[Identifier]] = Field(min_length=2)
    """Hub name → the source's columns holding its business key."""
    record_source: str


class Satellite(StrictModel):
    """A hub's descriptive attributes, one row per change."""

    source: str
    parent: Identifier
    """The hub it describes."""
    keys: list[Identifier] = Field(min_length=1)
    """The source's columns holding the hub's business key."""
    attributes: list[Identifier] = Field(min_length=1)
    """Columns tracked for change (their hash is ``hash_diff``)."""
    record_source: str


class Pit(StrictModel):
    """Point in time: per hub key and date a satellite changed, which row of each
    satellite was current; ``is_current`` marks the latest."""

    hub: Identifier
    satellites: list[Identifier] = Field(min_length=1)
    """Satellites of ``hub``."""


class Bridge(StrictModel):
    """A path through links from a hub: one row per chain of related keys."""

    hub: Identifier
    """Where the path starts."""
    links: list[Identifier] = Field(min_length=1)
    """Links in order, each sharing a hub with the one before."""


class Effectivity(StrictModel):
    """Which row of a link holds now, per key of its driving hub: one row each time the
    driving key's relationship changes (an account moved to another customer, and back,
    is three rows here and two in the link)."""

    link: Identifier
    """The link whose relationships it dates (it reads the link's source)."""
    driving_hub: Identifier | None = None
    """The hub whose key has one relationship at a time (``account``: an account has one
    owner)."""
    driving_key: dict[Identifier, list[Identifier]] | None = None
    """Instead of a hub, a key of the link's source that has one relationship at a time
    (``{order_item: [order_item_id]}``: each order item is on one order, with one
    product, though an order has many products); its hash is ``order_item_hk``."""


class Vault(StrictModel):
    """The whole ``vault.yml``."""

    hubs: dict[Identifier, Hub] = Field(default_factory=dict)
    links: dict[Identifier, Link] = Field(default_factory=dict)
    satellites: dict[Identifier, Satellite] = Field(default_factory=dict)
    pits: dict[Identifier, Pit] = Field(default_factory=dict)
    bridges: dict[Identifier, Bridge] = Field(default_factory=dict)
    effectivity: dict[Identifier, Effectivity] = Field(default_factory=dict)

    def problems(self) -> list[str]:
        """What names something the spec does not have."""
        problems = []
        for name, link in self.links.items():
            problems += [
                f"links.{name}.hubs: {hub!r} is not one of the hubs"
                for hub in link.hubs
                if hub not in self.hubs
            ]
        for name, sat in self.satellites.items():
            if sat.parent not in self.hubs:
                problems.append(f"satellites.{name}.parent: {sat.parent!r} is not one of the hubs")
        for name, pit in self.pits.items():
            if pit.hub not in self.hubs:
                problems.append(f"pits.{name}.hub: {pit.hub!r} is not one of the hubs")
            for sat_name in pit.satellites:
                found = self.satellites.get(sat_name)
                if found is None or found.parent != pit.hub:
                    problems.append(
                        f"pits.{name}.satellites: {sat_name!r} is not a satellite of hub "
                        f"{pit.hub!r}"
                    )
        for name, bridge in self.bridges.items():
            problems += self._chain(name, bridge)
        for name, eff in self.effectivity.items():
            dated = self.links.get(eff.link)
            if dated is None:
                problems.append(f"effectivity.{name}.link: {eff.link!r} is not one of the links")
            elif (eff.driving_hub is None) == (eff.driving_key is None):
                problems.append(
                    f"effectivity.{name}: name one of driving_hub (a hub of link {eff.link!r}: "
                    f"{', '.join(dated.hubs)}) or driving_key ({{name: [columns]}})"
                )
            elif eff.driving_hub is not None and eff.driving_hub not in dated.hubs:
                problems.append(
                    f"effectivity.{name}.driving_hub: {eff.driving_hub!r} is not one of link "
                    f"{eff.link!r}'s hubs ({', '.join(dated.hubs)})"
                )
            elif eff.driving_key is not None and (
                len(eff.driving_key) != 1 or not all(eff.driving_key.values())
            ):
                problems.append(
                    f"effectivity.{name}.driving_key: one name and its columns, such as "
                    "{order_item: [order_item_id]}"
                )
        return problems

    def _chain(self, name: str, bridge: Bridge) -> list[str]:
        """The links of a bridge each continue from a hub reached before."""
        if bridge.hub not in self.hubs:
            return [f"bridges.{name}.hub: {bridge.hub!r} is not one of the hubs"]
        reached = {bridge.hub}
        for link_name in bridge.links:
            link = self.links.get(link_name)
            if link is None:
                return [f"bridges.{name}.links: {link_name!r} is not one of the links"]
            if not reached & set(link.hubs):
                return [
                    f"bridges.{name}.links: {link_name!r} joins none of "
                    f"{', '.join(sorted(reached))} reached before it"
                ]
            reached |= set(link.hubs)
        return []

    def dbt_var(self) -> dict[str, Any]:
        """What Basin's dbt package reads (``var('basin_vault')``)."""
        return self.model_dump()


def load_vault(dbt_project_dir: Path) -> Vault | None:
    """The project's ``vault.yml``; None when it has none.

    Raises:
        ConfigError: the file is not valid YAML or not a valid spec (each problem named).
    """
    import yaml

    path = dbt_project_dir / FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from None
    try:
        vault = Vault.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            str(path),
            [f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()],
        ) from None
    problems = vault.problems()
    if problems:
        raise ConfigError(str(path), problems)
    return vault
