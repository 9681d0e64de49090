"""A day of new data follows the delta — and publishes exactly what computing every key
would. Two copies of the reference platform live through the same days: one as Basin
runs it (each whole build follows the batches loaded since the last build that
passed), the other with the ledger's build marks erased before every run, so every
incremental model recomputes every key and every test reads every row."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from tests.e2e.test_run import MARTS, published, warehouse
from tests.reference_runs import checksums

pytestmark = pytest.mark.e2e

SCALE = "0.005"


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "basin"), "--project", str(project), *args],
        capture_output=True,
        text=True,
    )


def basin(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = run(project, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def generate(project: Path, *args: str) -> None:
    """The reference's sources at SCALE: day 1, or the next day with ``--add-day``."""
    subprocess.run(
        [
            sys.executable,
            str(project / "generator.py"),
            "--root",
            str(project),
            "--scale",
            SCALE,
            *args,
        ],
        check=True,
        capture_output=True,
    )


def forget_builds(project: Path) -> None:
    """As if no build had passed here: the next one computes every key."""
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb")) as con:
        con.execute("update _basin.load_ledger set built_run = null, built_code = null")


def marts(project: Path) -> dict:
    return checksums(project / ".basin/dev/published/warehouse.duckdb", ["marts"])


def compiled(project: Path, model: str) -> str:
    results = json.loads((project / ".basin/dev/dbt/target/run_results.json").read_text())
    [node] = [r for r in results["results"] if r["unique_id"] == model]
    return node["compiled_code"]


# Customers whose products_bought (through the vault's bridge) is not the count of
# distinct products in their orders' items as staged now.
PRODUCTS_NOT_STAGINGS = """
    with staged as (
        select orders.customer_id, count(distinct items.product_id) as products
        from staging.stg_operations__orders as orders
        join staging.stg_operations__order_items as items using (order_id)
        group by orders.customer_id
    )
    select count(*) from marts.customer_360 as mart
    full join staged using (customer_id)
    where coalesce(mart.products_bought, 0) <> coalesce(staged.products, 0)
"""


def move_an_order(project: Path) -> tuple[int, int]:
    """Give the first order to another customer (a merged duplicate, a fixed entry):
    both customers' counts change, though only the new holder is in the day's rows."""
    with sqlite3.connect(project / "data" / "operational.db") as db:
        order_id, holder = db.execute(
            "select order_id, customer_id from orders order by order_id limit 1"
        ).fetchone()
        [latest] = db.execute("select max(updated_at) from orders").fetchone()
        db.execute(
            "update orders set customer_id = ?, updated_at = ? where order_id = ?",
            (holder + 1, latest, order_id),
        )
    return holder, holder + 1


def move_a_transaction_and_an_item(project: Path) -> None:
    """Correct the first booked transaction to another account and the first order
    item to another order: the balances and totals of both sides change, though the
    day's rows name only the new side (the keyed models must recompute the old one)."""
    with sqlite3.connect(project / "data" / "operational.db") as db:
        for table, key, group in (
            ("transactions", "transaction_id", "account_id"),
            ("order_items", "order_item_id", "order_id"),
        ):
            where = "status = 'booked'" if table == "transactions" else "true"
            row_key, holder = db.execute(
                f"select {key}, {group} from {table} where {where} order by {key} limit 1"
            ).fetchone()
            [latest] = db.execute(f"select max(updated_at) from {table}").fetchone()
            db.execute(
                f"update {table} set {group} = ?, updated_at = ? where {key} = ?",
                (holder + 1, latest, row_key),
            )


def _day_one_published(project: Path) -> None:
    """What `make run` does on day one: every mart published, one row per customer."""
    for mart in MARTS:
        assert published(project, f"select count(*) from marts.{mart}")[0][0] > 0, mart
    customers = published(
        project, "select count(*), count(distinct customer_id) from marts.customer_360"
    )
    assert customers == [(100, 100)]


def _day_two_processed_the_new_rows_only(project: Path) -> None:
    """Day two at SCALE: the incremental models took the new and changed rows — 1% new
    transactions (50) and the pending ones that got booked or reversed (25) — and the
    vault read only the day's rows, yet misses none."""
    runs = warehouse(
        project,
        "select count(*) from staging.stg_finance__transactions "
        "where transformed_at = (select max(transformed_at) from staging.stg_finance__transactions)",
    )
    assert runs == [(75,)]
    results = json.loads((project / ".basin/dev/dbt/target/run_results.json").read_text())
    [node] = [r for r in results["results"] if r["unique_id"].endswith("stg_finance__transactions")]
    assert node["status"] == "success"
    assert "_basin_batch_id > (select max(batch_id)" in node["compiled_code"]
    assert warehouse(
        project,
        "select count(*), count(distinct transaction_id) from staging.stg_finance__transactions",
    ) == [(5050, 5050)]
    # Snapshots recorded the changed customers (1% re-rated): closed versions exist.
    assert warehouse(
        project, "select count(*) from snapshots.snap_customers where dbt_valid_to is not null"
    ) == [(1,)]
    assert published(project, "select count(*) from marts.customer_360") == [(101,)]
    # The vault is insert-only: a satellite row for each changed customer, hubs for new keys.
    assert warehouse(project, "select count(*) from vault.hub_customer") == [(101,)]
    assert warehouse(project, "select count(*) from vault.sat_customer") == [(102,)]
    # Every staged transaction's key is in the hub, and its current attributes are the
    # latest satellite row of its key (75 of them changed or new today).
    assert warehouse(
        project,
        "select count(*) from staging.stg_finance__transactions as s "
        "anti join vault.hub_transaction as h on h.transaction_id = s.transaction_id",
    ) == [(0,)]
    stale = """
        with latest as (
            select transaction_id, amount, transaction_status, row_number() over (
                partition by transaction_hk order by v.load_date desc) as recency
            from vault.sat_transaction as v
            join vault.hub_transaction using (transaction_hk)
        )
        select count(*) from staging.stg_finance__transactions as s
        anti join latest as l on l.recency = 1 and l.transaction_id = s.transaction_id
            and l.amount = s.amount and l.transaction_status = s.transaction_status
    """
    assert warehouse(project, stale) == [(0,)]
    assert warehouse(project, "select count(*) from vault.sat_transaction") == [(5075,)]
    [sat] = [r for r in results["results"] if r["unique_id"].endswith(".sat_transaction")]
    assert "loaded_at > (select max(load_date)" in sat["compiled_code"]


def test_days_that_follow_the_delta_publish_what_every_key_would(
    reference: Path, tmp_path: Path
) -> None:
    generate(reference)
    basin(reference, "run")
    _day_one_published(reference)
    whole = tmp_path / "whole"
    shutil.copytree(reference, whole)
    for day in (2, 3):
        for project in (reference, whole):
            generate(project, "--add-day")
            if day == 3:
                moved = move_an_order(project)
                move_a_transaction_and_an_item(project)
        forget_builds(whole)
        basin(reference, "run")
        basin(whole, "run")
        assert marts(reference) == marts(whole), f"day {day}: the delta's marts differ"
        if day == 2:
            _day_two_processed_the_new_rows_only(reference)
        # The build followed the delta: the accounts recomputed are the day's only.
        code = compiled(reference, "model.reference.int_accounts_balanced")
        assert "batch_id in (" in code and "account_id in (select account_id from touched)" in code
        assert "batch_id in (" not in compiled(whole, "model.reference.int_accounts_balanced")
        if day == 3:
            with duckdb.connect(str(reference / ".basin/dev/published/warehouse.duckdb")) as con:
                counts = dict(
                    con.execute(
                        "select customer_id, order_count from marts.customer_360"
                        f" where customer_id in {moved}"
                    ).fetchall()
                )
            assert len(counts) == 2, counts  # both still customers: the comparison means it
            # The vault's links keep the moved order's and item's old pairs; the mart
            # reads the chains that hold now: each customer's products are staging's.
            assert warehouse(reference, PRODUCTS_NOT_STAGINGS) == [(0,)]
    # A run without a new day publishes the same marts.
    before = marts(reference)
    basin(reference, "run")
    assert marts(reference) == before
    # The vault checks that follow the delta still catch a vault that went wrong for
    # the keys the day touched: customer 1's satellite row and account 1's owner are
    # tampered with, then both come again unchanged (a new updated_at only).
    tamper_with_the_vault(reference)
    failed = run(reference, "run")
    assert failed.returncode != 0, "a tampered vault was published"
    said = failed.stdout + failed.stderr
    assert "assert_customers_current_match_staging" in said
    assert "assert_account_owners_match_staging" in said
    assert marts(reference) == before


def tamper_with_the_vault(project: Path) -> None:
    """Customer 1's current satellite row gets another first name, and the link account
    1's owner is recorded through another customer; the source then sends both again
    with the same values, so they are in the next day's delta while the vault records
    nothing new (hash diffs and link hash keys still match)."""
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb")) as con:
        con.execute(
            """
            update vault.sat_customer set first_name = 'Tampered'
            where customer_hk = (select customer_hk from vault.hub_customer where customer_id = 1)
            """
        )
        con.execute(
            """
            update vault.link_customer_account
            set customer_hk = (
                select customer_hk from vault.hub_customer
                where customer_hk <> link_customer_account.customer_hk
                order by customer_id limit 1)
            where account_hk = (select account_hk from vault.hub_account where account_id = 1)
            """
        )
    with sqlite3.connect(project / "data" / "operational.db") as db:
        for table, key in (("customers", "customer_id"), ("accounts", "account_id")):
            [latest] = db.execute(f"select max(updated_at) from {table}").fetchone()
            db.execute(f"update {table} set updated_at = ? where {key} = 1", (latest,))


def test_a_failed_gate_keeps_the_bad_rows_in_the_delta_until_fixed(reference: Path) -> None:
    """The tests that follow the delta read only new rows: a bad row must stay "new"
    until a build passes, or the second run would publish it untested."""
    yml = reference / "basin.yml"
    yml.write_text(yml.read_text().replace("staging: warn", "staging: error"))
    generate(reference)
    basin(reference, "run")
    published = marts(reference)

    def customer_one(segment: str, updated_at: str) -> None:
        with sqlite3.connect(reference / "data" / "operational.db") as db:
            db.execute(
                "update customers set segment = ?, updated_at = ? where customer_id = 1",
                (segment, updated_at),
            )

    customer_one("bogus", "2099-01-01 00:00:00")
    for attempt in (1, 2):  # the second run extracts nothing new for customers
        failed = run(reference, "run")
        assert failed.returncode != 0, f"attempt {attempt} published a bad segment"
        assert "accepted_values_stg_finance__customers_segment" in failed.stdout + failed.stderr
        assert marts(reference) == published
    customer_one("retail", "2099-01-02 00:00:00")
    basin(reference, "run")
    assert marts(reference) != published
