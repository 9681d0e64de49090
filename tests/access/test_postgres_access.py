"""Access on a real PostgreSQL warehouse: roles and users from basin.yml, each proven by
logging in as it; plans are differences (an applied policy plans nothing); a publish
swap carries the grants across with no moment an analyst is refused; a manual grant
shows in `basin access check`."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.access.conftest import add_pii_mart

pytestmark = pytest.mark.postgres


@pytest.fixture
def names(pg_url: str, pg_database: str) -> Iterator[dict[str, str]]:
    """Server-wide names unique to this test (roles are shared by every database),
    dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    out = {
        "prefix": f"t{tag}_",
        "analyst": f"ana_{tag}",
        "bi": f"bi_{tag}",
        "loader": f"ld_{tag}",
    }
    yield out
    with psycopg.connect(pg_url, autocommit=True) as conn:
        roles = [
            r[0]
            for r in conn.execute(
                "select rolname from pg_roles where rolname like %s or rolname = any(%s)",
                (f"t{tag}\\_%", [v for k, v in out.items() if k != "prefix"]),
            )
        ]
    if not roles:
        return
    quoted = ", ".join(f'"{r}"' for r in roles)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f"drop owned by {quoted}")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"drop owned by {quoted}")
        for role in roles:
            conn.execute(f'drop role if exists "{role}"')


def _configure(project: Path, db: str, names: dict[str, str], *, analyst: bool = True) -> None:
    yml = project / "basin.yml"
    text = yml.read_text().split("\naccess:\n")[0]
    if "  pg:\n" not in text:
        text = text.replace(
            "sources:", f'  pg:\n    warehouse: {{engine: postgres, dsn: "{db}"}}\n\nsources:', 1
        )
    users = (f"    {names['analyst']}: {{roles: [analyst]}}\n" if analyst else "") + (
        f"    {names['bi']}: {{kind: service, roles: [basin_bi]}}\n"
        f"    {names['loader']}: {{kind: service, roles: [basin_loader]}}\n"
    )
    yml.write_text(text + f"\naccess:\n  role_prefix: {names['prefix']}\n  users:\n" + users)


def _as(db: str, user: str, query: str) -> str:
    """'ok' or the server's refusal, logged in as ``user`` (trust auth on 127.0.0.1)."""
    try:
        with psycopg.connect(db, user=user, autocommit=True) as conn:
            conn.execute(query)
        return "ok"
    except psycopg.errors.InsufficientPrivilege as exc:
        return "denied: " + str(exc).splitlines()[0]


def test_each_role_reads_and_writes_what_the_policy_says_and_no_more(
    cli, project: Path, pg_database: str, names: dict[str, str]
) -> None:
    db = pg_database
    _configure(project, db, names)
    assert cli("--env", "pg", "run", project=project).exit_code == 0

    planned = cli("--env", "pg", "access", "plan", project=project)
    assert planned.exit_code == 0, planned.output
    assert f"create role {names['prefix']}analyst" in planned.stdout
    assert f"{names['analyst']} holds {names['prefix']}analyst" in planned.stdout
    applied = cli("--env", "pg", "access", "apply", project=project)
    assert applied.exit_code == 0, applied.output
    again = cli("--env", "pg", "access", "plan", project=project)
    assert "nothing to change" in again.stdout  # idempotent: the plan is a difference

    ana, bi, loader = names["analyst"], names["bi"], names["loader"]
    assert _as(db, ana, "select * from marts.daily_revenue") == "ok"
    assert _as(db, ana, "select * from raw.shop__orders").startswith("denied")
    assert _as(db, ana, "select * from staging.stg_shop__orders").startswith("denied")
    assert _as(db, bi, "select * from marts.daily_revenue") == "ok"
    assert _as(db, bi, "select * from raw.shop__orders").startswith("denied")
    assert _as(db, loader, "select * from marts.daily_revenue").startswith("denied")
    assert _as(db, loader, "create table raw.loader_probe (x int)") == "ok"
    # Default privileges cover the tables the warehouse user creates; a table another
    # user created is the plan's to grant.
    assert (
        "engineer: SELECT on raw.loader_probe"
        in cli("--env", "pg", "access", "plan", project=project).stdout
    )
    assert _as(db, loader, "drop table raw.loader_probe") == "ok"
    assert (
        _as(db, loader, "insert into raw.shop__orders select * from raw.shop__orders limit 0")
        == "ok"
    )

    # A new publication (a new build swapped in): still readable, the old one is not.
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "8,n@example.org,5.00,paid,2026-01-08 10:00:00\n"
    )
    assert cli("--env", "pg", "run", project=project).exit_code == 0
    assert _as(db, ana, "select * from marts.daily_revenue") == "ok"
    assert _as(db, ana, "select * from marts_audit.daily_revenue").startswith("denied")
    assert "nothing to change" in cli("--env", "pg", "access", "plan", project=project).stdout

    # A manual grant beyond the policy is reported, and check fails.
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(f'grant select on raw.shop__orders to "{ana}"')
    checked = cli("--env", "pg", "access", "check", project=project)
    assert checked.exit_code == 1
    assert f"{ana} has SELECT on raw.shop__orders" in checked.stdout
    assert f"{names['prefix']}viewer" in checked.stdout  # a role nobody holds

    # The analyst leaves the policy: apply revokes the role, and the marts with it.
    _configure(project, db, names, analyst=False)
    assert cli("--env", "pg", "access", "apply", project=project).exit_code == 0
    assert _as(db, ana, "select * from marts.daily_revenue").startswith("denied")
    logged = cli("--env", "pg", "audit", "list", project=project).stdout
    assert "basin --env pg access apply" in logged or "access" in logged


def test_no_swap_leaves_an_analyst_without_the_published_tables(
    cli, project: Path, pg_database: str, names: dict[str, str]
) -> None:
    db = pg_database
    _configure(project, db, names)
    assert cli("--env", "pg", "run", project=project).exit_code == 0
    assert cli("--env", "pg", "access", "apply", project=project).exit_code == 0
    # The audit schema holds the previous publication after a run: swap back and forth.
    assert cli("--env", "pg", "run", project=project).exit_code == 0

    from basin.access.manage import publish_governance
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    platform = Platform(load_project(project, "pg"))
    refused: list[str] = []
    done = threading.Event()

    def analyst() -> None:
        with psycopg.connect(db, user=names["analyst"], autocommit=True) as conn:
            conn.execute("set lock_timeout = '60s'")
            while not done.is_set():
                try:
                    conn.execute("select count(*) from marts.daily_revenue").fetchone()
                except psycopg.Error as exc:
                    refused.append(str(exc).splitlines()[0])

    reader = threading.Thread(target=analyst)
    reader.start()
    try:
        governance = publish_governance(platform.project, ["marts"])
        for i in range(20):
            platform.warehouse.publish(["marts"], f"swap-{uuid.uuid4().hex[:6]}-{i}", governance)
    finally:
        done.set()
        reader.join(timeout=120)
        platform.close()
    assert refused == []
    assert _as(db, names["analyst"], "select * from marts_audit.daily_revenue").startswith("denied")


def test_pii_is_masked_in_the_published_marts_for_those_it_is_not_revealed_to(
    cli, project: Path, pg_database: str, names: dict[str, str]
) -> None:
    db = pg_database
    add_pii_mart(
        project,
        "customers",
        "select customer_email, count(*) as orders from {{ ref('stg_shop__orders') }} group by 1",
        {"customer_email": "email"},
    )
    _configure(project, db, names)
    engineer = f"eng_{names['prefix'].strip('_')}"
    names["engineer"] = engineer  # dropped with the others
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text()
        + f"    {engineer}: {{roles: [engineer]}}\n"
        + "  masking:\n    default: {rule: hash}\n"
    )
    # Applied before anything was built: the first publication is masked already;
    # applied again once dbt's schemas exist (the plan said so).
    assert cli("--env", "pg", "access", "apply", project=project).exit_code == 0
    assert cli("--env", "pg", "run", project=project).exit_code == 0
    assert cli("--env", "pg", "access", "apply", project=project).exit_code == 0

    def emails(user: str) -> list[str]:
        with psycopg.connect(db, user=user, autocommit=True) as conn:
            rows = conn.execute("select customer_email from marts.customers order by 1").fetchall()
        return [r[0] for r in rows]

    clear = emails(engineer)
    assert clear and all("@" in e for e in clear)
    masked = emails(names["analyst"])
    assert len(masked) == len(clear) and not any("@" in e for e in masked)
    import hashlib

    assert sorted(masked) == sorted(hashlib.md5(e.encode()).hexdigest() for e in clear)
    private = "select * from marts.customers__basin_pii"
    assert _as(db, names["analyst"], private).startswith("denied")
    assert _as(db, names["bi"], private).startswith("denied")
    # Consumers see the view by the table's name; the private data is not "published".
    status = cli("--env", "pg", "status", project=project).stdout
    assert "marts.customers" in status and "__basin_pii" not in status

    # Published again (a new build, the old publication's view swapped out): the same.
    assert cli("--env", "pg", "run", project=project).exit_code == 0
    assert emails(names["analyst"]) == masked and emails(engineer) == clear
    assert "nothing to change" in cli("--env", "pg", "access", "plan", project=project).stdout
    checked = cli("--env", "pg", "access", "check", project=project)
    assert checked.exit_code == 0
    # Who reads PII as it is: engineers, in staging and (revealed) in the marts; the
    # analyst nowhere (masked in the marts, no access to staging).
    prefix = names["prefix"]
    assert f"{prefix}engineer reads PII unmasked" in checked.stdout
    assert "staging.stg_shop__orders.customer_email (pii: true)" in checked.stdout
    assert "marts.customers.customer_email (pii: email)" in checked.stdout
    assert f"{prefix}analyst reads PII" not in checked.stdout


def test_a_row_policy_shows_each_reader_only_its_rows(
    cli, project: Path, pg_database: str, names: dict[str, str]
) -> None:
    db = pg_database
    add_pii_mart(
        project,
        "by_status",
        "select order_status, customer_email, count(*) as orders\n"
        "from {{ ref('stg_shop__orders') }} group by 1, 2",
        {"customer_email": "email"},
    )
    marts = project / "dbt" / "models" / "marts"
    # No PII: readers query the table itself, under CREATE POLICY … FORCE RLS.
    (marts / "status_counts.sql").write_text(
        "select order_status, count(*) as orders from {{ ref('stg_shop__orders') }} group by 1\n"
    )
    _configure(project, db, names)
    engineer = f"eng_{names['prefix'].strip('_')}"
    names["engineer"] = engineer
    ana = names["analyst"]
    yml = project / "basin.yml"
    text = yml.read_text().replace(
        f"    {ana}: {{roles: [analyst]}}\n",
        f"    {ana}: {{roles: [analyst], attributes: {{status: [paid]}}}}\n",
    )
    yml.write_text(
        text
        + f"    {engineer}: {{roles: [engineer]}}\n"
        + "  row_policies:\n"
        + "    - {table: marts.by_status, column: order_status, attribute: status}\n"
        + "    - {table: marts.status_counts, column: order_status, attribute: status}\n"
        + "  masking:\n    default: {rule: hash}\n"
    )
    assert cli("--env", "pg", "access", "apply", project=project).exit_code == 0
    assert cli("--env", "pg", "run", project=project).exit_code == 0
    assert cli("--env", "pg", "access", "apply", project=project).exit_code == 0

    def statuses(user: str, table: str = "by_status") -> set[str]:
        with psycopg.connect(db, user=user, autocommit=True) as conn:
            rows = conn.execute(f"select distinct order_status from marts.{table}").fetchall()
        return {r[0] for r in rows}

    everything = statuses(engineer)
    assert "paid" in everything and len(everything) > 1
    assert statuses(ana) == {"paid"}  # its rows, through the masking view
    assert statuses(ana, "status_counts") == {"paid"}  # its rows, row-level security
    assert statuses(engineer, "status_counts") == everything
    assert statuses(names["bi"]) == set()  # no attribute: no rows
    # The published row counts are the whole table's (the publisher sees every row).
    with psycopg.connect(db, autocommit=True) as conn:
        total = conn.execute("select count(*) from marts.by_status__basin_pii").fetchone()[0]
    status = cli("--env", "pg", "status", project=project).stdout
    assert "marts.by_status" in status and str(total) in status

    # Another region for the analyst: apply changes only the attribute rows.
    yml.write_text(yml.read_text().replace("status: [paid]", "status: [paid, pending]"))
    planned = cli("--env", "pg", "access", "plan", project=project).stdout
    assert f"{ana}: status = pending" in planned and "1 change(s)" in planned
    assert cli("--env", "pg", "access", "apply", project=project).exit_code == 0
    assert statuses(ana) == {"paid", "pending"} & everything
