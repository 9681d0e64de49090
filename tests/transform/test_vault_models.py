"""Basin's Data Vault macros on a real build, day after day: hubs leave out rows without
a business key, satellites record each change once, the PIT points at the row current
at each date, the bridge follows the links — and a spec that cannot work stops the run
before dbt, naming the place, with the last publication untouched."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

VAULT = """
hubs:
  customer: {source: stg_vault__orders, keys: [customer_email], record_source: shop.orders}
  order: {source: stg_vault__orders, keys: [order_id], record_source: shop.orders}
links:
  customer_order:
    source: stg_vault__orders
    hubs: {customer: [customer_email], order: [order_id]}
    record_source: shop.orders
satellites:
  order:
    source: stg_vault__orders
    parent: order
    keys: [order_id]
    attributes: [amount, order_status]
    record_source: shop.orders
pits:
  order: {hub: order, satellites: [order]}
bridges:
  customer_order: {hub: customer, links: [customer_order]}
"""

MODELS = {
    # Every version of every order, with the batch's extraction time as loaded_at.
    "staging/shop/stg_vault__orders.sql": (
        "select order_id, lower(customer_email) as customer_email, amount, "
        "status as order_status, _basin_extracted_at as loaded_at "
        "from {{ source('shop', 'orders') }}"
    ),
    "vault/hub_customer.sql": "{{ basin.hub('customer') }}",
    "vault/hub_order.sql": "{{ basin.hub('order') }}",
    "vault/link_customer_order.sql": "{{ basin.link('customer_order') }}",
    "vault/sat_order.sql": "{{ basin.sat('order') }}",
    "vault/pit_order.sql": "{{ basin.pit('order') }}",
    "vault/bridge_customer_order.sql": "{{ basin.bridge('customer_order') }}",
    "vault/_vault.yml": """
version: 2
models:
  - name: sat_order
    data_tests:
      - basin.unique_combination: {arguments: {columns: [order_hk, load_date]}}
  - name: pit_order
    data_tests:
      - basin.unique_combination: {arguments: {columns: [order_hk, as_of]}}
  - name: hub_customer
    columns: [{name: customer_hk, data_tests: [unique, not_null]}]
""",
}


def _vault_project(project: Path) -> None:
    (project / "dbt" / "vault.yml").write_text(VAULT)
    config = project / "dbt" / "dbt_project.yml"
    config.write_text(
        config.read_text().replace(
            "    marts:\n", "    vault:\n      +schema: vault\n    marts:\n", 1
        )
    )
    for name, text in MODELS.items():
        path = project / "dbt" / "models" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    # An order without a customer: no customer hub row for it.
    drop = project / "drops" / "shop" / "orders_001.csv"
    drop.write_text(drop.read_text() + "6,,9.99,paid,2026-01-05 09:00:00\n")


def _query(project: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_vault_follows_changes_and_the_pit_and_bridge_read_it(cli, project: Path) -> None:
    _vault_project(project)
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    assert _query(project, "select count(*), count(customer_email) from vault.hub_customer") == [
        (3, 3)
    ]
    # Day 2: order 5 is paid now; order 7 is new.
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "5,grace@example.org,80.10,paid,2026-01-05 08:30:00\n"
        "7,alan@example.org,15.00,paid,2026-01-06 10:00:00\n"
    )
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    versions = _query(
        project,
        "select h.order_id, s.order_status from vault.sat_order s "
        "join vault.hub_order h using (order_hk) order by h.order_id, s.load_date",
    )
    assert [v for v in versions if v[0] == 5] == [(5, "pending"), (5, "paid")]
    assert len(versions) == 8  # 7 orders, one change: nothing recorded twice
    # The hub holds each order once, dated when it first arrived (order 5: day 1).
    assert _query(
        project,
        "select count(*), count(distinct order_id), "
        "max(load_date) filter (where order_id = 5) = min(load_date), "
        "max(load_date) filter (where order_id = 7) > min(load_date), "
        "min(record_source) = max(record_source) from vault.hub_order",
    ) == [(7, 7, True, True, True)]
    # The PIT: order 5 as of day 1 points at the pending row, its current row at paid.
    as_of = _query(
        project,
        "select p.is_current, s.order_status from vault.pit_order p "
        "join vault.hub_order h using (order_hk) "
        "join vault.sat_order s on s.order_hk = p.order_hk and s.load_date = p.sat_order_load_date "
        "where h.order_id = 5 order by p.as_of",
    )
    assert as_of == [(False, "pending"), (True, "paid")]
    current = _query(
        project,
        "select count(*) from vault.pit_order where is_current",
    )
    assert current == [(7,)]
    # The bridge: one row per customer → order link, with both hash keys.
    assert _query(
        project,
        "select count(*), count(distinct customer_hk), count(distinct order_hk) "
        "from vault.bridge_customer_order",
    ) == [(6, 3, 6)]
    assert _query(project, "select count(*) from vault.link_customer_order") == [(6,)]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda p: (p / "dbt" / "vault.yml").write_text(
                VAULT.replace("parent: order", "parent: shipment")
            ),
            "satellites.order.parent: 'shipment' is not one of the hubs",
        ),
        (
            lambda p: (p / "dbt" / "models" / "vault" / "hub_order.sql").write_text(
                "{{ basin.hub('orders') }}\n"
            ),
            "no vault spec for it: add it as hubs.orders in the dbt project's vault.yml",
        ),
    ],
)
def test_a_spec_that_cannot_work_stops_the_run_and_keeps_the_publication(
    cli, project: Path, edit, message: str
) -> None:
    _vault_project(project)
    assert cli("run", project=project).exit_code == 0
    published = project / ".basin/dev/published/warehouse.duckdb"
    before = published.stat().st_mtime_ns
    edit(project)
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "8,ada@example.org,1.00,paid,2026-01-07 10:00:00\n"
    )
    run = cli("run", project=project)
    assert run.exit_code != 0
    assert message in run.output, run.output
    assert published.stat().st_mtime_ns == before
    doctor = cli("doctor", project=project)
    assert doctor.exit_code != 0 and message in doctor.output


def test_a_source_without_loaded_at_is_named_with_the_fix(cli, project: Path) -> None:
    """The scaffold's staging model has no ``loaded_at``: the run says which model
    misses which column and how to add it, not the engine's binder error."""
    _vault_project(project)
    vault = project / "dbt" / "vault.yml"
    vault.write_text(
        vault.read_text().replace(
            "source: stg_vault__orders, keys: [order_id]",
            "source: stg_shop__orders, keys: [order_id]",
        )
    )
    run = cli("run", project=project)
    assert run.exit_code != 0
    assert "model hub_order: its source stg_shop__orders has no column loaded_at" in run.output
    assert "_basin_extracted_at as loaded_at" in run.output


def test_the_effectivity_satellite_dates_each_change_of_relationship(cli, project: Path) -> None:
    """An order moved to another customer and back: two link rows (the pairs that ever
    existed), three effectivity rows, and the newest says who holds it now."""
    _vault_project(project)
    vault = project / "dbt" / "vault.yml"
    vault.write_text(
        vault.read_text()
        + "effectivity:\n  customer_order: {link: customer_order, driving_hub: order}\n"
    )
    (project / "dbt" / "models" / "vault" / "eff_customer_order.sql").write_text(
        "{{ basin.eff_sat('customer_order') }}\n"
    )
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    header = "order_id,customer_email,amount,status,ordered_at\n"
    for day, email in ((2, "alan@example.org"), (3, "grace@example.org")):
        (project / "drops" / "shop" / f"orders_00{day}.csv").write_text(
            header + f"5,{email},80.10,pending,2026-01-05 08:30:00\n"
        )
        assert (done := cli("run", project=project)).exit_code == 0, done.output
    owners = _query(
        project,
        "select c.customer_email from vault.eff_customer_order e "
        "join vault.hub_order o using (order_hk) "
        "join vault.link_customer_order l using (customer_order_hk) "
        "join vault.hub_customer c on c.customer_hk = l.customer_hk "
        "where o.order_id = 5 order by e.load_date",
    )
    assert owners == [("grace@example.org",), ("alan@example.org",), ("grace@example.org",)]
    assert _query(
        project,
        "select count(*) from vault.link_customer_order l join vault.hub_order o "
        "on o.order_hk = l.order_hk where o.order_id = 5",
    ) == [(2,)]
    # Five orders with a customer on day 1, then order 5's two moves; nothing twice.
    assert _query(project, "select count(*) from vault.eff_customer_order") == [(7,)]


def test_an_effectivity_entry_naming_a_hub_outside_its_link_is_refused(cli, project: Path) -> None:
    _vault_project(project)
    vault = project / "dbt" / "vault.yml"
    vault.write_text(
        vault.read_text()
        + "effectivity:\n  customer_order: {link: customer_order, driving_hub: product}\n"
    )
    doctor = cli("doctor", project=project)
    assert doctor.exit_code != 0
    assert "effectivity.customer_order.driving_hub: 'product' is not one of link" in doctor.output
