"""Access on Snowflake, as SQL: roles, database and schema grants (with future grants),
person and service users (key pairs), masking policies and row access policies.

Compiled, not compared with an account: no Snowflake is reachable where Basin is
tested, so ``basin access plan`` prints the whole policy — each statement idempotent
where Snowflake allows (``IF NOT EXISTS``; a GRANT held already changes nothing) — and
``apply`` does not run it (see docs/governance.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from basin.common.sql import literal

if TYPE_CHECKING:
    from basin.access.policy import Policy
    from basin.access.postgres import Change

READ_TABLES = "SELECT"
WRITE_TABLES = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE"
ATTRIBUTES = "_basin.access_attributes"


def _change(sql: str, says: str) -> Change:
    from basin.access.postgres import Change

    return Change(sql, says)


def plan(
    policy: Policy,
    database: str,
    public_keys: dict[str, str],
) -> list[Change]:
    """Every statement of the policy on ``database`` (``public_keys``: service user →
    its RSA public key). Which columns get which masking policy is decided at each
    publish (:func:`publish_statements`), from the build's PII tags."""
    db = database
    out = [
        _change(f"CREATE ROLE IF NOT EXISTS {r}", f"role {r}")
        for r in sorted(policy.roles.values())
    ]
    for role in sorted(policy.roles.values()):
        out.append(
            _change(f"GRANT USAGE ON DATABASE {db} TO ROLE {role}", f"{role}: USAGE on {db}")
        )
        for level, schemas in (("read", policy.read[role]), ("write", policy.write[role])):
            for schema in sorted(schemas):
                out += _schema_grants(policy, db, schema, role, level)
    for user in sorted(policy.members):
        kind = "SERVICE" if user in policy.services else "PERSON"
        text = f"CREATE USER IF NOT EXISTS {user} TYPE = {kind}"
        if user in public_keys:
            text += f" RSA_PUBLIC_KEY = {literal(public_keys[user])}"
        out.append(_change(text, f"{kind.lower()} user {user}"))
        for role in sorted(policy.members[user]):
            out.append(_change(f"GRANT ROLE {role} TO USER {user}", f"{user} holds {role}"))
    if policy.masks or policy.rows:
        out.append(_change(f"CREATE SCHEMA IF NOT EXISTS {db}._basin", "Basin's schema"))
    for tag, (rule, reveal) in sorted(policy.masks.items()):
        out.append(
            _change(
                f"CREATE MASKING POLICY IF NOT EXISTS {db}._basin.basin_mask_{tag} AS "
                f"(val STRING) RETURNS STRING -> {mask_body(rule, reveal)}",
                f"masking policy for pii: {tag} ({rule})",
            )
        )
    if policy.rows:
        out.append(
            _change(
                f"CREATE TABLE IF NOT EXISTS {db}.{ATTRIBUTES} "
                "(user_name STRING, attribute STRING, value STRING)",
                "the users' attributes row policies compare with",
            )
        )
        out.append(_change(f"DELETE FROM {db}.{ATTRIBUTES}", "attributes: written again"))
        for user, attribute, value in sorted(policy.attributes):
            out.append(
                _change(
                    f"INSERT INTO {db}.{ATTRIBUTES} VALUES ({literal(user.upper())}, "
                    f"{literal(attribute)}, {literal(value)})",
                    f"{user}: {attribute} = {value}",
                )
            )
        for schema, table, column, attribute, exempt in policy.rows:
            out.append(
                _change(
                    f"CREATE ROW ACCESS POLICY IF NOT EXISTS {db}._basin.basin_rows_{schema}_{table} "
                    f"AS (val STRING) RETURNS BOOLEAN -> {rows_body(db, attribute, exempt)}",
                    f"row access policy for {schema}.{table}.{column}",
                )
            )
    return out


def _schema_grants(policy: Policy, db: str, schema: str, role: str, level: str) -> list[Change]:
    where = f"{db}.{schema}"
    on_schema = "USAGE, CREATE TABLE, CREATE VIEW" if level == "write" else "USAGE"
    on_tables = WRITE_TABLES if level == "write" else READ_TABLES
    out = [
        _change(f"GRANT {on_schema} ON SCHEMA {where} TO ROLE {role}", f"{role}: {level} {where}")
    ]
    if schema in policy.audits:
        return out  # its tables are the next build's: granted at publish
    out.append(_change(f"GRANT {on_tables} ON ALL TABLES IN SCHEMA {where} TO ROLE {role}", ""))
    out.append(_change(f"GRANT SELECT ON ALL VIEWS IN SCHEMA {where} TO ROLE {role}", ""))
    if schema not in policy.published:  # swapped in whole: granted at publish
        out.append(
            _change(f"GRANT {on_tables} ON FUTURE TABLES IN SCHEMA {where} TO ROLE {role}", "")
        )
        out.append(_change(f"GRANT SELECT ON FUTURE VIEWS IN SCHEMA {where} TO ROLE {role}", ""))
    return out


def _in_session(roles: list[str]) -> str:
    return " OR ".join(f"IS_ROLE_IN_SESSION({literal(r.upper())})" for r in roles) or "FALSE"


def mask_body(rule: str, reveal: list[str]) -> str:
    """A masking policy's expression: the value for roles it is revealed to."""
    hidden = {
        "hash": "MD5(val)",
        "partial": "CASE WHEN LENGTH(val) <= 4 THEN REPEAT('*', LENGTH(val)) "
        "ELSE LEFT(val, 2) || REPEAT('*', LENGTH(val) - 4) || RIGHT(val, 2) END",
        "null": "NULL",
    }[rule]
    return f"CASE WHEN {_in_session(reveal)} THEN val ELSE {hidden} END"


def rows_body(db: str, attribute: str, exempt: list[str]) -> str:
    """A row access policy's expression: exempt roles see every row, others the rows
    whose value is one of theirs."""
    return (
        f"{_in_session(exempt)} OR EXISTS (SELECT 1 FROM {db}.{ATTRIBUTES} AS a "
        f"WHERE a.user_name = CURRENT_USER() AND a.attribute = {literal(attribute)} "
        "AND a.value = val)"
    )


def publish_statements(
    policy: Policy,
    db: str,
    schema: str,
    audit: str,
    pii: dict[str, dict[str, str]],
) -> tuple[list[str], list[str]]:
    """``(before, after)`` ``ALTER SCHEMA … SWAP WITH``: the incoming tables get their
    masking and row access policies and their readers' grants; readers lose the schema
    swapped out."""
    before, after = [], []
    for table, columns in sorted(pii.items()):
        for column, tag in sorted(columns.items()):
            if policy.mask(tag) is not None:
                name = tag if tag in policy.masks else "default"
                before.append(
                    f"ALTER TABLE {db}.{audit}.{table} MODIFY COLUMN {column} "
                    f"SET MASKING POLICY {db}._basin.basin_mask_{name} FORCE"
                )
    for where, table, column, _attribute, _exempt in policy.rows:
        if where == schema:
            before.append(
                f"ALTER TABLE {db}.{audit}.{table} ADD ROW ACCESS POLICY "
                f"{db}._basin.basin_rows_{where}_{table} ON ({column})"
            )
    for role in sorted(policy.readers(schema)):
        writes = schema in policy.write.get(role, set())
        before.append(
            f"GRANT {'USAGE, CREATE TABLE, CREATE VIEW' if writes else 'USAGE'} ON SCHEMA "
            f"{db}.{audit} TO ROLE {role}"
        )
        before.append(
            f"GRANT {WRITE_TABLES if writes else READ_TABLES} ON ALL TABLES IN SCHEMA "
            f"{db}.{audit} TO ROLE {role}"
        )
        if not writes:
            after.append(f"REVOKE USAGE ON SCHEMA {db}.{audit} FROM ROLE {role}")
    return before, after
