"""The access policy of a project, engine-neutral: which role may read or write which
schema, and which user holds which role. The engines turn it into their SQL
(``warehouses/<engine>/grants.py``) and compare it with what the server has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from basin.common.errors import ConfigError
from basin.common.sql import LEDGER_SCHEMA

if TYPE_CHECKING:
    from basin.config import Project


@dataclass(frozen=True)
class Policy:
    """What basin.yml's ``access:`` asks for, in the engine's names."""

    roles: dict[str, str]
    """Basin role → the engine's role name (prefixed)."""
    read: dict[str, set[str]]
    """Engine role → schemas it reads."""
    write: dict[str, set[str]]
    """Engine role → schemas it writes."""
    members: dict[str, set[str]]
    """User → engine roles it holds."""
    services: dict[str, str | None]
    """Service user → its password (None: authenticated another way)."""
    humans: set[str]
    published: set[str]
    """Schemas swapped in at each publish: granted on the audit schema just before."""
    audits: set[str]
    """Their audit schemas, where dbt builds the next publication: writers may write
    there (schema privileges only: its tables come and go with each build), readers
    never see it."""
    managed: set[str]
    """Every schema the policy speaks for."""
    prefix: str
    ledger: str = LEDGER_SCHEMA
    """Basin's own schema (where the row policies' user attributes live)."""
    rows: list[tuple[str, str, str, str, list[str]]] = field(default_factory=list)
    """Row policies: (schema, table, column, attribute, exempt engine roles)."""
    attributes: set[tuple[str, str, str]] = field(default_factory=set)
    """(user, attribute, value) the row policies compare with."""
    masks: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    """PII tag (or ``default``) → (rule, engine roles it is revealed to)."""
    notes: list[str] = field(default_factory=list)

    def mask(self, tag: str) -> tuple[str, list[str]] | None:
        return self.masks.get(tag) or self.masks.get("default")

    def readers(self, schema: str) -> set[str]:
        """Engine roles that read (or write) ``schema``."""
        return {r for r, s in self.read.items() if schema in s} | {
            r for r, s in self.write.items() if schema in s
        }


def compile_policy(project: Project, built: set[str] | None, suffix: str) -> Policy:
    """The policy for ``project``; ``built``: the schemas dbt builds into (from the last
    build's manifest), None when unknown yet; ``suffix``: the audit schemas' suffix."""
    access = project.config.access
    prefix = access.role_prefix if access.role_prefix is not None else f"{project.config.project}_"
    published = set(project.config.publish.schemas)
    raw, ledger = project.env.own_schemas
    built_schemas = {s.removesuffix(suffix) if s.endswith(suffix) else s for s in built or set()}
    built_schemas -= {ledger}
    notes = []
    if built is None:
        notes.append(
            "dbt has not built yet: `*` and `@built` cover raw and the published schemas "
            "only; apply again after `basin transform`"
        )
    managed = {raw} | published | built_schemas
    groups = {
        "*": managed,
        "@raw": {raw},
        "@published": published,
        "@built": built_schemas | published,
    }

    def expand(names: list[str], where: str) -> set[str]:
        out: set[str] = set()
        for name in names:
            if name in groups:
                out |= groups[name]
            elif name in managed or built is None:
                out.add(name)
            else:
                raise ConfigError(
                    "basin.yml",
                    [
                        f"access.roles.{where}: schema {name!r} is not one Basin manages "
                        f"(managed: {', '.join(sorted(managed))}; or *, @raw, @published, "
                        "@built)"
                    ],
                )
        return out

    roles = {name: f"{prefix}{name}" for name in access.all_roles()}
    read: dict[str, set[str]] = {}
    write: dict[str, set[str]] = {}
    for name, role in access.all_roles().items():
        engine_role = roles[name]
        writes = expand(role.write, name)
        # Who writes a published schema writes where its next publication is built.
        write[engine_role] = writes | {s + suffix for s in writes & published}
        read[engine_role] = expand(role.read, name) - write[engine_role]
    members = {user: {roles[r] for r in cfg.roles} for user, cfg in access.users.items()}
    services = {
        user: cfg.password.get_secret_value() if cfg.password else None
        for user, cfg in access.users.items()
        if cfg.kind == "service"
    }
    humans = {user for user, cfg in access.users.items() if cfg.kind == "human"}
    return Policy(
        roles=roles,
        read=read,
        write=write,
        members=members,
        services=services,
        humans=humans,
        published=published,
        audits={s + suffix for s in published},
        managed=managed | {s + suffix for s in published},
        prefix=prefix,
        ledger=ledger,
        rows=[
            (
                p.table.split(".", 1)[0],
                p.table.split(".", 1)[1],
                p.column,
                p.attribute,
                [roles[r] for r in p.exempt],
            )
            for p in access.row_policies
        ],
        attributes={
            (user, name, value)
            for user, cfg in access.users.items()
            for name, values in cfg.attributes.items()
            for value in values
        },
        masks={
            tag: (rule.rule, [roles[r] for r in rule.reveal_to])
            for tag, rule in access.masking.items()
        },
        notes=notes,
    )
