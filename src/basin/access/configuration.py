"""Configuration of access (``access:`` in basin.yml): roles, the schemas each may read
or write, and the people and services who hold them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from basin.common.types import StrictModel

BUILT_IN: dict[str, dict[str, list[str]]] = {
    "admin": {"read": ["*"], "write": ["*"]},
    "engineer": {"read": ["*"], "write": []},
    "analyst": {"read": ["@published"], "write": []},
    "viewer": {"read": ["@published"], "write": []},
    "basin_loader": {"read": [], "write": ["@raw"]},
    "basin_transformer": {"read": ["*"], "write": ["@built"]},
    "basin_bi": {"read": ["@published"], "write": []},
}
"""The roles every project has (each may be overridden): ``*`` is every schema Basin
manages, ``@raw`` the one loaded data lands in (``raw``, or ``warehouse.schemas.raw``),
``@published`` the published ones (``publish.schemas``), ``@built`` the ones
dbt builds into."""


class RoleConfig(StrictModel):
    """What a role may do, by schema (or ``*``, ``@published``, ``@built``)."""

    read: list[str] = Field(default_factory=list)
    """Schemas whose tables it may SELECT."""
    write: list[str] = Field(default_factory=list)
    """Schemas it may create tables in and change (reading them too)."""
    description: str | None = None
    """What the role is for (shown in the docs; not sent to the warehouse)."""


class UserConfig(StrictModel):
    """A person or a service that logs in to the warehouse."""

    kind: Literal["human", "service"] = "human"
    """Humans authenticate as the engine lets people (a password they set, SSO);
    services with their own credential (``password`` from a secret provider, or a key
    pair / certificate configured on the server) — never a shared one."""
    roles: list[str] = Field(min_length=1)
    """Roles it holds."""
    password: SecretStr | None = None
    """A service's password, from a secret provider (``${aws-sm:…}``); set on apply.
    Humans set their own: Basin never sets a person's password."""
    public_key: str | None = None
    """Snowflake: the RSA public key of a service's key pair (``RSA_PUBLIC_KEY``)."""
    attributes: dict[str, list[str]] = Field(default_factory=dict)
    """Values row policies compare with (``region: [EU, UK]``)."""

    @model_validator(mode="after")
    def _only_services_get_a_password(self) -> UserConfig:
        if self.password is not None and self.kind == "human":
            raise ValueError(
                "a human's password is theirs to set (ALTER ROLE … PASSWORD, or SSO): "
                "only kind: service takes a password"
            )
        return self


class MaskRule(StrictModel):
    """How a PII column reads for those it is not revealed to."""

    rule: Literal["hash", "partial", "null"] = "hash"
    """``hash``: MD5 of the value (joins and counts still work); ``partial``: the
    first and last two characters, the rest as ``*``; ``null``: nothing."""
    reveal_to: list[str] = Field(default_factory=lambda: ["admin", "engineer"])
    """Roles that read the value as it is."""


class RowPolicy(StrictModel):
    """Rows of a published table a reader sees: those whose ``column`` is one of the
    reader's ``attribute`` values (``users.<name>.attributes``)."""

    table: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
    """``schema.table`` of a published table."""
    column: str
    """The column compared."""
    attribute: str
    """The user attribute it must match."""
    exempt: list[str] = Field(default_factory=lambda: ["admin", "engineer"])
    """Roles that see every row."""


class AccessConfig(StrictModel):
    """Who may read and write what in the warehouse (``basin access plan|apply|check``).

    Roles are created as ``<role_prefix><role>`` (roles are server-wide on PostgreSQL:
    the prefix keeps projects apart); users keep their names.
    """

    role_prefix: str | None = None
    """Prefix of the roles Basin manages; default ``<project>_``."""
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    """Role name → what it may do; adds to (or overrides) the built-in roles."""
    users: dict[str, UserConfig] = Field(default_factory=dict)
    """Login name → kind and roles."""
    row_policies: list[RowPolicy] = Field(default_factory=list)
    """Row-level security on published tables."""
    masking: dict[str, MaskRule] = Field(default_factory=dict)
    """PII tag (a published column's dbt ``meta: {pii: <tag>}``) → how it is masked;
    ``default`` for every other tag (and ``pii: true``). Empty: nothing is masked."""

    @model_validator(mode="after")
    def _known_roles(self) -> AccessConfig:
        known = set(BUILT_IN) | set(self.roles)
        for tag, rule in self.masking.items():
            unknown_roles = [r for r in rule.reveal_to if r not in known]
            if unknown_roles:
                raise ValueError(
                    f"masking.{tag}.reveal_to names unknown role(s) {', '.join(unknown_roles)}"
                    "; roles: " + ", ".join(sorted(known))
                )
        for i, policy in enumerate(self.row_policies):
            stray = [r for r in policy.exempt if r not in known]
            if stray:
                raise ValueError(
                    f"row_policies[{i}].exempt names unknown role(s) {', '.join(stray)}"
                )
        for name, user in self.users.items():
            unknown = [r for r in user.roles if r not in known]
            if unknown:
                import difflib

                near = difflib.get_close_matches(unknown[0], sorted(known), n=1)
                raise ValueError(
                    f"user {name} holds unknown role(s) {', '.join(unknown)}"
                    + (f" (did you mean {near[0]}?)" if near else "")
                    + "; roles: "
                    + ", ".join(sorted(known))
                )
        return self

    def mask_for(self, tag: str) -> MaskRule | None:
        """The rule of a PII tag (``default`` when it has none of its own)."""
        return self.masking.get(tag) or self.masking.get("default")

    def all_roles(self) -> dict[str, RoleConfig]:
        """The built-in roles with the project's additions and overrides."""
        out = {name: RoleConfig(**spec) for name, spec in BUILT_IN.items()}  # type: ignore[arg-type]
        out.update(self.roles)
        return out
