"""Access on PostgreSQL: roles, memberships and schema/table privileges, compared with
the server's catalogs so that a plan holds only the difference and revokes what the
policy no longer grants.

- a reader of a schema gets ``USAGE`` on it and ``SELECT`` on its tables; a writer
  ``USAGE, CREATE`` and ``SELECT, INSERT, UPDATE, DELETE, TRUNCATE``;
- tables created later follow through default privileges (``ALTER DEFAULT PRIVILEGES
  FOR ROLE <the warehouse user>``), except in published schemas: those are swapped in
  at each publish, and their readers are granted on the audit schema inside the swap's
  transaction, then revoked from the schema swapped out (:func:`publish_statements`);
- roles are ``NOLOGIN`` groups; users log in and hold them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from basin.common.sql import literal, quote_ident
from basin.warehouses.base import MASKED_SUFFIX

if TYPE_CHECKING:
    import psycopg

    from basin.access.policy import Policy

PRIVATE = MASKED_SUFFIX
"""Suffix of a published table whose PII is masked: the table keeps its data under
this name, readable by nobody but its owner; its name is a view that masks."""


def _attributes_table(policy: Policy) -> str:
    """The users' attribute values row policies compare with (written by apply), in
    Basin's own schema."""
    return f"{_q(policy.ledger)}.access_attributes"


def _values_function(policy: Policy) -> str:
    """``access_values(attribute)``: the logged-in user's values (security definer:
    nobody reads the table itself)."""
    return f"{_q(policy.ledger)}.access_values"


READ_SCHEMA = {"USAGE"}
WRITE_SCHEMA = {"USAGE", "CREATE"}
READ_TABLE = {"SELECT"}
WRITE_TABLE = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"}


@dataclass
class Live:
    """What the server has, for the policy's roles and users."""

    roles: set[str] = field(default_factory=set)
    logins: set[str] = field(default_factory=set)
    members: set[tuple[str, str]] = field(default_factory=set)  # (role, member)
    schemas: set[tuple[str, str, str]] = field(default_factory=set)  # (schema, grantee, priv)
    tables: set[tuple[str, str, str, str]] = field(default_factory=set)  # + table
    defaults: set[tuple[str, str, str]] = field(default_factory=set)  # (schema, grantee, priv)
    existing_schemas: set[str] = field(default_factory=set)
    table_names: dict[str, list[str]] = field(default_factory=dict)
    attributes: set[tuple[str, str, str]] | None = None
    """(user, attribute, value) rows of the row policies' table; None: no table yet."""


@dataclass(frozen=True)
class Change:
    """One statement of a plan, and what it does in words (secrets masked)."""

    sql: str
    says: str


def _q(name: str) -> str:
    return quote_ident(name)


def live(conn: psycopg.Connection[Any], policy: Policy) -> Live:
    """The server's roles, memberships and privileges of the policy's roles and users
    on the schemas it manages."""
    names = sorted(set(policy.roles.values()) | set(policy.members))
    like = policy.prefix.replace("_", r"\_").replace("%", r"\%") + "%"
    out = Live()
    for name, login in conn.execute(
        "select rolname, rolcanlogin from pg_roles where rolname = any(%s) or rolname like %s",
        (names, like),
    ):
        out.roles.add(name)
        if login:
            out.logins.add(name)
    grantees = sorted(out.roles)
    out.members = {
        (r, m)
        for r, m in conn.execute(
            """
            select r.rolname, m.rolname from pg_auth_members a
            join pg_roles r on r.oid = a.roleid join pg_roles m on m.oid = a.member
            where r.rolname = any(%s)
            """,
            (grantees,),
        )
    }
    schemas = sorted(policy.managed)
    out.existing_schemas = {
        r[0]
        for r in conn.execute(
            "select nspname from pg_namespace where nspname = any(%s)", (schemas,)
        )
    }
    out.schemas = {
        (s, g, p)
        for s, g, p in conn.execute(
            """
            select n.nspname, pg_get_userbyid(a.grantee), a.privilege_type
            from pg_namespace n, aclexplode(n.nspacl) a
            where n.nspname = any(%s) and pg_get_userbyid(a.grantee) = any(%s)
            """,
            (schemas, grantees),
        )
    }
    tabled = sorted(policy.managed - policy.audits)  # audit tables come and go per build
    for s, t, g, p in conn.execute(
        """
        select n.nspname, c.relname, pg_get_userbyid(a.grantee), a.privilege_type
        from pg_class c join pg_namespace n on n.oid = c.relnamespace,
             aclexplode(c.relacl) a
        where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p', 'f')
          and pg_get_userbyid(a.grantee) = any(%s)
        """,
        (tabled, grantees),
    ):
        out.tables.add((s, t, g, p))
    for s, t in conn.execute(
        """
        select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p', 'f')
          and c.relname not like %s
        order by 1, 2
        """,
        (schemas, "%" + PRIVATE.replace("_", r"\_")),
    ):
        out.table_names.setdefault(s, []).append(t)
    attributes = _attributes_table(policy)
    found = conn.execute("select to_regclass(%s)", (attributes,)).fetchone()
    if found is not None and found[0] is not None:
        out.attributes = {
            (u, a, v)
            for u, a, v in conn.execute(f"select user_name, attribute, value from {attributes}")
        }
    out.defaults = {
        (s, g, p)
        for s, g, p in conn.execute(
            """
            select n.nspname, pg_get_userbyid(a.grantee), a.privilege_type
            from pg_default_acl d join pg_namespace n on n.oid = d.defaclnamespace,
                 aclexplode(d.defaclacl) a
            where d.defaclobjtype = 'r' and d.defaclrole = (select oid from pg_roles where rolname = current_user)
              and n.nspname = any(%s) and pg_get_userbyid(a.grantee) = any(%s)
            """,
            (schemas, grantees),
        )
    }
    return out


def plan(policy: Policy, server: Live, owner: str) -> list[Change]:
    """The statements that bring the server to the policy (empty: nothing to do)."""
    changes: list[Change] = []
    for role in sorted(set(policy.roles.values()) - server.roles):
        changes.append(Change(f"create role {_q(role)} nologin", f"create role {role}"))
    for user in sorted(policy.members):
        if user not in server.roles:
            password = policy.services.get(user)
            text = f"create role {_q(user)} login"
            says = f"create {'service' if user in policy.services else 'user'} {user} (login)"
            if password:
                text += " password " + literal(password)
                says += " with its password from basin.yml's secret"
            changes.append(Change(text, says))
        elif user not in server.logins:
            changes.append(Change(f"alter role {_q(user)} login", f"let {user} log in"))
    want_members = {(r, u) for u, roles in policy.members.items() for r in roles}
    managed_roles = set(policy.roles.values())
    for role, user in sorted(want_members - server.members):
        changes.append(Change(f"grant {_q(role)} to {_q(user)}", f"{user} holds {role}"))
    for role, user in sorted(server.members - want_members):
        if role in managed_roles:
            changes.append(
                Change(f"revoke {_q(role)} from {_q(user)}", f"{user} no longer holds {role}")
            )
    changes += _privileges(policy, server, owner)
    changes += _attributes(policy, server)
    return changes


def _attributes(policy: Policy, server: Live) -> list[Change]:
    """The attributes table and its function (when a row policy needs them), and the
    rows that differ."""
    if not policy.rows and not policy.attributes:
        return []
    out = []
    attributes, values = _attributes_table(policy), _values_function(policy)
    if server.attributes is None:
        out.append(
            Change(
                f"create schema if not exists {_q(policy.ledger)}; "
                f"create table {attributes} (user_name text, attribute text, value text, "
                "primary key (user_name, attribute, value)); "
                f"create or replace function {values}(attribute text) returns setof text "
                "language sql stable security definer set search_path = pg_catalog as "
                f"$f$ select value from {attributes} where user_name = session_user "
                "and attribute = $1 $f$; "
                f"revoke all on function {values}(text) from public; "
                f"grant execute on function {values}(text) to public; "
                f"grant usage on schema {_q(policy.ledger)} to public",
                "create the table of user attributes row policies compare with",
            )
        )
    have = server.attributes or set()
    for user, attribute, value in sorted(policy.attributes - have):
        out.append(
            Change(
                f"insert into {attributes} values ({literal(user)}, {literal(attribute)}, "
                f"{literal(value)})",
                f"{user}: {attribute} = {value}",
            )
        )
    for user, attribute, value in sorted(have - policy.attributes):
        out.append(
            Change(
                f"delete from {attributes} where user_name = {literal(user)} and attribute = "
                f"{literal(attribute)} and value = {literal(value)}",
                f"{user}: no longer {attribute} = {value}",
            )
        )
    return out


def row_filter(policy: Policy, column: str, attribute: str, exempt: list[str]) -> str:
    """The rows a reader sees: exempt roles and the publishing user (``%L``, filled in
    with ``format`` at publish) all of them, others those whose ``column`` is one of
    their ``attribute`` values."""
    names = ", ".join(literal(r) for r in exempt) or "null"
    return (
        f"exists (select from pg_roles r where r.rolname in ({names}) and "
        f"pg_has_role(current_user, r.oid, 'MEMBER')) or current_user = %L or "
        f"{_q(column)}::text in (select {_values_function(policy)}({literal(attribute)}))"
    )


def row_filters(policy: Policy, schema: str) -> dict[str, str]:
    """Published table → its row filter (masked tables' views apply it: a view reads
    as its owner, who may bypass row-level security as a superuser)."""
    return {
        table: row_filter(policy, column, attribute, exempt)
        for where, table, column, attribute, exempt in policy.rows
        if where == schema
    }


def row_policy_statements(policy: Policy, schema: str, audit: str, masked: set[str]) -> list[str]:
    """Before the swap: row-level security on the published tables of ``schema`` that
    have a row policy (on a masked table, on its private data behind the view). The
    publishing user sees every row (its own counts); exempt roles too."""
    out = []
    for where, table, column, attribute, exempt in policy.rows:
        if where != schema:
            continue
        target = table + PRIVATE if table in masked else table
        using = row_filter(policy, column, attribute, exempt)
        relation = f"{_q(audit)}.{_q(target)}"
        out.append(
            "do $rows$ begin "
            f"if to_regclass({literal(relation)}) is null then return; end if; "
            f"execute 'alter table {relation.replace(chr(39), chr(39) * 2)} enable row level security'; "
            f"execute 'alter table {relation.replace(chr(39), chr(39) * 2)} force row level security'; "
            f"execute 'drop policy if exists basin_rows on {relation.replace(chr(39), chr(39) * 2)}'; "
            f"execute format({literal('create policy basin_rows on ' + relation + ' using (' + using + ')')}, "
            "current_user); end $rows$"
        )
    return out


def _wanted(policy: Policy, server: Live) -> tuple[set[Any], set[Any], set[Any]]:
    schemas: set[tuple[str, str, str]] = set()
    tables: set[tuple[str, str, str, str]] = set()
    defaults: set[tuple[str, str, str]] = set()
    for role in policy.roles.values():
        for level, granted in (("read", policy.read[role]), ("write", policy.write[role])):
            on_schema = WRITE_SCHEMA if level == "write" else READ_SCHEMA
            on_table = WRITE_TABLE if level == "write" else READ_TABLE
            for schema in granted:
                if schema not in server.existing_schemas:
                    continue
                schemas |= {(schema, role, p) for p in on_schema}
                if schema in policy.audits:
                    continue  # its tables are the next build's: granted at publish
                for table in server.table_names.get(schema, []):
                    tables |= {(schema, table, role, p) for p in on_table}
                if schema not in policy.published:  # swapped in whole: granted at publish
                    defaults |= {(schema, role, p) for p in on_table}
    return schemas, tables, defaults


def _privileges(policy: Policy, server: Live, owner: str) -> list[Change]:
    schemas, tables, defaults = _wanted(policy, server)
    managed = set(policy.roles.values())
    out: list[Change] = []
    for s, g, p in sorted(schemas - server.schemas):
        out.append(Change(f"grant {p.lower()} on schema {_q(s)} to {_q(g)}", f"{g}: {p} on {s}"))
    for s, t, g, p in sorted(tables - server.tables):
        out.append(
            Change(f"grant {p.lower()} on {_q(s)}.{_q(t)} to {_q(g)}", f"{g}: {p} on {s}.{t}")
        )
    for s, g, p in sorted(defaults - server.defaults):
        out.append(
            Change(
                f"alter default privileges for role {_q(owner)} in schema {_q(s)} "
                f"grant {p.lower()} on tables to {_q(g)}",
                f"{g}: {p} on tables {owner} creates in {s} later",
            )
        )
    # Revoke what the policy does not grant (from Basin's roles only; a user's own
    # grants are reported by `basin access check`, never touched).
    for s, g, p in sorted(server.schemas - schemas):
        if g in managed:
            out.append(
                Change(f"revoke {p.lower()} on schema {_q(s)} from {_q(g)}", f"{g}: no {p} on {s}")
            )
    for s, t, g, p in sorted(server.tables - tables):
        if g in managed:
            out.append(
                Change(
                    f"revoke {p.lower()} on {_q(s)}.{_q(t)} from {_q(g)}", f"{g}: no {p} on {s}.{t}"
                )
            )
    for s, g, p in sorted(server.defaults - defaults):
        if g in managed:
            out.append(
                Change(
                    f"alter default privileges for role {_q(owner)} in schema {_q(s)} "
                    f"revoke {p.lower()} on tables from {_q(g)}",
                    f"{g}: no {p} on tables {owner} creates in {s} later",
                )
            )
    return out


def beyond(policy: Policy, server: Live) -> list[str]:
    """Privileges on managed schemas the policy does not give: held by users directly
    (a manual grant), or by Basin's roles before an apply."""
    schemas, tables, _ = _wanted(policy, server)
    out = [f"{g} has {p} on schema {s}" for s, g, p in sorted(server.schemas - schemas)]
    out += [f"{g} has {p} on {s}.{t}" for s, t, g, p in sorted(server.tables - tables)]
    return out


def publish_statements(policy: Policy, schema: str, audit: str) -> tuple[list[str], list[str]]:
    """``(before, after)`` the swap of ``audit`` into ``schema``, in its transaction: its
    readers are granted on the audit schema's tables before it is renamed — never a
    moment without them — and lose the schema swapped out (which becomes the next
    build's audit schema: unpublished data)."""
    before, after = [], []
    for role in sorted(policy.readers(schema)):
        writes = schema in policy.write.get(role, set())
        on_schema = "usage, create" if writes else "usage"
        on_tables = "select, insert, update, delete, truncate" if writes else "select"
        before.append(
            _if_role(
                role,
                f"grant {on_schema} on schema {_q(audit)} to {_q(role)}",
                # every relation but the masked tables' private data
                f"do $each$ declare r record; begin for r in select c.relname from pg_class c "
                f"join pg_namespace n on n.oid = c.relnamespace where n.nspname = {literal(audit)} "
                f"and c.relkind in ('r', 'v', 'm', 'p', 'f') and c.relname not like "
                f"{literal('%' + PRIVATE.replace('_', chr(92) + '_'))} loop execute "
                f"format('grant {on_tables} on %I.%I to %I', {literal(audit)}, r.relname, "
                f"{literal(role)}); end loop; end $each$",
            )
        )
        if not writes:  # writers build the next publication there
            after.append(
                _if_role(
                    role,
                    f"revoke all on schema {_q(audit)} from {_q(role)}",
                    f"revoke all on all tables in schema {_q(audit)} from {_q(role)}",
                )
            )
    return before, after


def _if_role(role: str, *statements: str) -> str:
    """The statements, run only if ``role`` exists (``basin access apply`` creates it:
    a project that never applied its policy publishes as before)."""
    body = " ".join(f"execute {literal(s)};" for s in statements)
    return (
        f"do $basin$ begin if exists (select from pg_roles where rolname = {literal(role)}) "
        f"then {body} end if; end $basin$"
    )


def masking_statements(
    policy: Policy,
    audit: str,
    pii: dict[str, dict[str, str]],
    filters: dict[str, str] | None = None,
) -> list[str]:
    """Before the swap: each table of ``audit`` with PII columns (``table → {column:
    tag}``) keeps its data as ``<table>__basin_pii`` and its name becomes a view that
    masks each PII column for whoever its rule does not reveal it to (evaluated per
    reader, as Snowflake's masking policies are). The view reads the table as its owner;
    nobody is granted the table."""
    out = []
    for table, columns in sorted(pii.items()):
        cases = []
        for column, tag in sorted(columns.items()):
            found = policy.mask(tag)
            if found is None:
                continue
            rule, reveal = found
            expression = _masked(column, rule, reveal)
            cases.append(f"when {literal(column)} then {literal(expression)}")
        if not cases:
            continue
        private = table + PRIVATE
        out.append(
            "do $mask$ declare cols text; begin "
            f"select string_agg(case column_name {' '.join(cases)} else quote_ident(column_name) "
            "end, ', ' order by ordinal_position) into cols from information_schema.columns "
            f"where table_schema = {literal(audit)} and table_name = {literal(table)}; "
            "if cols is null then return; end if; "
            f"execute format('drop table if exists %I.%I', {literal(audit)}, {literal(private)}); "
            f"execute format('alter table %I.%I rename to %I', {literal(audit)}, {literal(table)}, "
            f"{literal(private)}); "
            f"execute format('create view %I.%I as select ' || cols || ' from %I.%I', "
            f"{literal(audit)}, {literal(table)}, {literal(audit)}, {literal(private)})"
            + (
                f" || ' where ' || format({literal(filters[table])}, current_user)"
                if filters and table in filters
                else ""
            )
            + "; end $mask$"
        )
    return out


def _masked(column: str, rule: str, reveal: list[str]) -> str:
    """The view's expression for one PII column."""
    col = _q(column)
    names = ", ".join(literal(r) for r in reveal) or "null"
    # Roles that do not exist reveal nothing (and do not fail the view).
    shown = (
        f"exists (select from pg_roles r where r.rolname in ({names}) "
        f"and pg_has_role(current_user, r.oid, 'MEMBER'))"
    )
    if rule == "null":
        return f"case when {shown} then {col} end as {col}"
    if rule == "partial":
        hidden = (
            f"case when length({col}::text) <= 4 then repeat('*', length({col}::text)) "
            f"else overlay({col}::text placing repeat('*', length({col}::text) - 4) from 3) end"
        )
    else:
        hidden = f"md5({col}::text)"
    return f"case when {shown} then {col}::text else {hidden} end as {col}"
