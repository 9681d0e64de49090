"""dbt's generic tests following the delta (Basin's package comes first in dispatch):
they read the new rows, but a new row repeating an old key still fails `unique`; a
failure keeps its batch in the delta; changed code, `basin check` and a first build
test every row."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

# Every version of every order (no ranking): a key delivered twice is there twice.
VERSIONS = (
    "select order_id, amount, status, _basin_batch_id as batch_id "
    "from {{ source('shop', 'orders') }}\n"
)
TESTS = """
version: 2
models:
  - name: stg_shop__order_versions
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: status
        data_tests:
          - accepted_values: {arguments: {values: [pending, paid, refunded]}}
"""
HEADER = "order_id,customer_email,amount,status,ordered_at\n"


def _with_versions(project: Path) -> None:
    folder = project / "dbt" / "models" / "staging" / "shop"
    (folder / "stg_shop__order_versions.sql").write_text(VERSIONS)
    (folder / "_versions.yml").write_text(TESTS)


def _drop(project: Path, name: str, rows: str) -> None:
    (project / "drops" / "shop" / name).write_text(HEADER + rows)


def _compiled(project: Path, name: str) -> str:
    results = json.loads((project / ".basin/dev/dbt/target/run_results.json").read_text())
    [node] = [r for r in results["results"] if r["unique_id"].split(".")[2] == name]
    return node["compiled_code"]


def _days_pass(project: Path, days: int) -> None:
    """Every time the store recorded moves ``days`` into the past."""
    from bench.platform import shift_times

    from basin.config import load_project
    from basin.pipeline.platform import Platform

    platform = Platform(load_project(project))
    try:
        shift_times(platform.store, 24 * days)
    finally:
        platform.close()


def _built_marks(project: Path) -> list[tuple]:
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        return con.execute("select count(*), count(built_run) from _basin.load_ledger").fetchall()


def test_a_new_row_repeating_an_old_key_fails_unique_until_fixed(cli, project: Path) -> None:
    _with_versions(project)
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    # First build: everything is new, tested whole; its batches are marked built.
    assert "batch_id in (" not in _compiled(project, "unique_stg_shop__order_versions_order_id")
    assert _built_marks(project) == [(1, 1)]

    _drop(project, "orders_002.csv", "7,alan@example.org,15.00,paid,2026-01-06 10:00:00\n")
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    unique = _compiled(project, "unique_stg_shop__order_versions_order_id")
    assert "batch_id in (" in unique, unique  # the new rows' keys only
    assert _built_marks(project) == [(2, 2)]

    # Day 3 repeats order 3 (delivered on day 1): the new row's key counted over the
    # whole table is there twice.
    _drop(project, "orders_003.csv", "3,grace@example.org,42.00,paid,2026-01-07 10:00:00\n")
    for attempt in (1, 2):  # the second run brings nothing new: the batch is still new
        run = cli("run", project=project)
        assert run.exit_code != 0, f"attempt {attempt}: the repeated key was published"
        assert "unique_stg_shop__order_versions_order_id" in run.output
    assert _built_marks(project) == [(3, 2)]
    with duckdb.connect(
        str(project / ".basin/dev/published/warehouse.duckdb"), read_only=True
    ) as con:
        assert con.execute("select count(*) from marts.daily_revenue").fetchone()[0] > 0


@pytest.mark.parametrize(
    "day3",
    [
        pytest.param("3,grace@example.org,42.00,paid,2026-01-07 10:00:00\n", id="an-old-key"),
        pytest.param(",grace@example.org,42.00,paid,2026-01-07 10:00:00\n", id="no-key"),
    ],
)
def test_a_primary_key_follows_the_delta_and_fails_on_an_old_key_or_a_null(
    cli, project: Path, day3: str
) -> None:
    _with_versions(project)
    folder = project / "dbt" / "models" / "staging" / "shop"
    (folder / "_versions.yml").write_text(
        TESTS.replace("data_tests: [unique, not_null]", "data_tests: [basin.primary_key]")
    )
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    name = "basin_primary_key_stg_shop__order_versions_order_id"
    assert "batch_id in (" not in _compiled(project, name)  # the first build: whole
    _drop(project, "orders_002.csv", "7,alan@example.org,15.00,paid,2026-01-06 10:00:00\n")
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    assert "batch_id in (" in _compiled(project, name)  # the new rows only
    _drop(project, "orders_003.csv", day3)
    run = cli("run", project=project)
    assert run.exit_code != 0, "a broken primary key was published"
    assert name in run.output, run.output
    results = json.loads((project / ".basin/dev/dbt/target/run_results.json").read_text())
    [failed] = [r for r in results["results"] if r["unique_id"].split(".")[2] == name]
    assert failed["failures"] == 1, failed


def test_accepted_values_follow_the_delta_and_basin_check_tests_every_row(
    cli, project: Path
) -> None:
    _with_versions(project)
    assert cli("run", project=project).exit_code == 0
    _drop(project, "orders_002.csv", "7,alan@example.org,15.00,lost,2026-01-06 10:00:00\n")
    run = cli("run", project=project)
    assert run.exit_code != 0
    assert "accepted_values_stg_shop__order_versions" in run.output
    # `basin check` reads every row, whichever batch brought it.
    check = cli("check", project=project)
    assert check.exit_code != 0
    compiled = _compiled(
        project, "accepted_values_stg_shop__order_versions_status__pending__paid__refunded"
    )
    assert "batch_id in (" not in compiled


def test_changed_code_tests_every_row_once(cli, project: Path) -> None:
    _with_versions(project)
    assert cli("run", project=project).exit_code == 0
    _drop(project, "orders_002.csv", "7,alan@example.org,15.00,paid,2026-01-06 10:00:00\n")
    assert cli("run", project=project).exit_code == 0
    # An edit to the project (even a comment): the next build follows no delta.
    model = project / "dbt" / "models" / "staging" / "shop" / "stg_shop__order_versions.sql"
    model.write_text("-- every version\n" + VERSIONS)
    _drop(project, "orders_003.csv", "8,ada@example.org,1.00,paid,2026-01-07 10:00:00\n")
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    assert "batch_id in (" not in _compiled(project, "unique_stg_shop__order_versions_order_id")
    # …and the one after it follows the delta again.
    _drop(project, "orders_004.csv", "9,ada@example.org,2.00,paid,2026-01-08 10:00:00\n")
    assert cli("run", project=project).exit_code == 0
    assert "batch_id in (" in _compiled(project, "unique_stg_shop__order_versions_order_id")


def test_replayed_batches_are_new_again(cli, project: Path) -> None:
    _with_versions(project)
    assert cli("run", project=project).exit_code == 0
    _drop(project, "orders_002.csv", "7,alan@example.org,15.00,paid,2026-01-06 10:00:00\n")
    assert cli("run", project=project).exit_code == 0
    assert _built_marks(project) == [(2, 2)]
    assert (done := cli("replay", project=project)).exit_code == 0, done.output
    assert _built_marks(project) == [(2, 0)]


def test_every_row_is_tested_again_when_the_last_whole_pass_is_a_week_old(
    cli, project: Path
) -> None:
    """quality.whole_tests_every (7 days by default): a build that follows the delta
    turns into a whole one when the last whole pass is older — as the DAG's daily
    runs do once a week."""
    _with_versions(project)
    assert cli("run", project=project).exit_code == 0  # the first build: whole
    _drop(project, "orders_002.csv", "7,alan@example.org,15.00,paid,2026-01-06 10:00:00\n")
    assert cli("run", project=project).exit_code == 0
    assert "batch_id in (" in _compiled(project, "unique_stg_shop__order_versions_order_id")
    _days_pass(project, 8)  # since the whole build
    # A build of a selection tests only what it selects: it is not the weekly pass.
    selected = cli("transform", "--select", "stg_shop__order_versions", project=project)
    assert selected.exit_code == 0, selected.output
    _drop(project, "orders_003.csv", "8,ada@example.org,1.00,paid,2026-01-07 10:00:00\n")
    run = cli("run", project=project)
    assert run.exit_code == 0, run.output
    assert "batch_id in (" not in _compiled(project, "unique_stg_shop__order_versions_order_id")
    # Turned off: the delta is followed however old the last whole pass is.
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace("quality:\n", "quality:\n  whole_tests_every: null\n", 1)
    )
    _days_pass(project, 30)
    _drop(project, "orders_004.csv", "9,ada@example.org,2.00,paid,2026-01-08 10:00:00\n")
    assert cli("run", project=project).exit_code == 0
    assert "batch_id in (" in _compiled(project, "unique_stg_shop__order_versions_order_id")


def test_a_batch_id_column_of_another_meaning_is_tested_whole(cli, project: Path) -> None:
    """A model's own `batch_id` (not Basin's batch ids) never hides its rows from a
    test that follows the delta."""
    folder = project / "dbt" / "models" / "staging" / "shop"
    (folder / "stg_shop__order_versions.sql").write_text(
        "select order_id, amount, status, 'import-' || cast(order_id % 2 as varchar) as batch_id "
        "from {{ source('shop', 'orders') }}\n"
    )
    (folder / "_versions.yml").write_text(TESTS)
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    _drop(project, "orders_002.csv", "3,grace@example.org,42.00,paid,2026-01-07 10:00:00\n")
    run = cli("run", project=project)
    assert run.exit_code != 0, "a repeated key hid behind a batch_id of another meaning"
    assert "unique_stg_shop__order_versions_order_id" in run.output


PAID = (
    "select order_id from {{ ref('stg_shop__order_versions') }}\n"
    "where status = 'paid' and {{ basin.in_delta() }}\n"
)
UNIT = """
version: 2
unit_tests:
  - name: paid_orders_of_the_delta
    model: stg_shop__paid_orders
    given:
      - input: ref('stg_shop__order_versions')
        rows:
          - {order_id: 1, status: paid, batch_id: fixture}
          - {order_id: 2, status: pending, batch_id: fixture}
    expect:
      rows:
        - {order_id: EXPECTED}
"""


def test_unit_tests_ignore_the_builds_delta_and_show_their_diff(cli, project: Path) -> None:
    """A unit test's fixtures are not the build's batches: a model that follows the
    delta is unit-tested as if every row were new, on the second build as on the
    first. A failing unit test's message carries dbt's diff, not just its first line."""
    _with_versions(project)
    folder = project / "dbt" / "models" / "staging" / "shop"
    (folder / "stg_shop__paid_orders.sql").write_text(PAID)
    (folder / "_unit.yml").write_text(UNIT.replace("EXPECTED", "1"))
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    _drop(project, "orders_002.csv", "7,alan@example.org,15.00,paid,2026-01-06 10:00:00\n")
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    assert "following the delta" in done.output

    (folder / "_unit.yml").write_text(UNIT.replace("EXPECTED", "2"))
    failed = cli("run", project=project)
    assert failed.exit_code != 0
    assert "paid_orders_of_the_delta" in failed.output
    assert "actual differs from expected:" in failed.output
    # Basin's own error (what the incident and the alerts carry) shows the diff too.
    error = failed.output.split("error: step 'transform'", 1)[1]
    assert "actual differs from expected:" in error and "---,2" in error, error


CONTRACTS = """
version: 2
models:
  - name: stg_shop__order_versions
    data_tests:
      - basin.table_contract:
          name: row_rules
          arguments:
            rules:
              - {rule: range, column: amount, min: 0}
              - {rule: accepted_values, column: status, values: [pending, paid, refunded]}
      - basin.table_contract:
          name: with_a_whole_table_rule
          arguments:
            rules:
              - {rule: range, column: amount, min: 0}
              - {rule: unique, column: order_id}
"""


def test_a_contract_of_row_rules_follows_the_delta_one_with_a_table_rule_reads_all(
    cli, project: Path
) -> None:
    folder = project / "dbt" / "models" / "staging" / "shop"
    (folder / "stg_shop__order_versions.sql").write_text(VERSIONS)
    (folder / "_versions.yml").write_text(CONTRACTS)
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    _drop(project, "orders_002.csv", "7,alan@example.org,15.00,paid,2026-01-06 10:00:00\n")
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    assert "batch_id in (" in _compiled(project, "row_rules")
    assert "batch_id in (" not in _compiled(project, "with_a_whole_table_rule")
    # Day 3 repeats order 3 with a negative amount: the new row breaks the row rules
    # (read from the delta) and the key repeats over the whole table.
    _drop(project, "orders_003.csv", "3,grace@example.org,-5.00,paid,2026-01-07 10:00:00\n")
    run = cli("run", project=project)
    assert run.exit_code != 0, "a negative amount and a repeated key were published"
    results = json.loads((project / ".basin/dev/dbt/target/run_results.json").read_text())
    failed = {r["unique_id"].split(".")[2] for r in results["results"] if r["status"] == "fail"}
    assert {"row_rules", "with_a_whole_table_rule"} <= failed, failed
    # The failing rows `basin failures` shows say which rows the row rules read.
    import sqlite3

    with sqlite3.connect(project / ".basin/dev/metadata.db") as db:
        [sample] = db.execute(
            "select sample from basin_check_results where name = 'row_rules' and status = 'fail'"
        ).fetchone()
    [row] = json.loads(sample)["rows"]
    assert row[4] == "range (new rows only)" and row[5] == 1, row  # the day's one row


# The scaffold's daily revenue, incremental by day: the docs' pattern with basin.touched
# (a key given as a list), so an order moved to another day recomputes both days, and
# basin.delete_touched, so a day left without orders loses its row.
DAILY = """
{% set touched = basin.touched(source('shop', 'orders'), 'cast(ordered_at as date)', key=['order_id']) %}
{{ config(
    materialized='incremental', unique_key='order_date', incremental_strategy='delete+insert',
    pre_hook="{{ basin.delete_touched('order_date', basin.touched(source('shop', 'orders'), 'cast(ordered_at as date)', key=['order_id'])) }}"
) }}
with touched as (
    {{ touched }}
),
orders as (
    select * from {{ ref('stg_shop__orders') }}
    {% if is_incremental() %}
    where cast(ordered_at as date) in (select * from touched)
    {% endif %}
)
select cast(ordered_at as date) as order_date, count(*) as order_count,
    sum(case when order_status = 'paid' then amount else 0 end) as paid_revenue
from orders group by 1
"""


def test_a_row_moved_to_another_key_recomputes_both_keys(cli, project: Path) -> None:
    (project / "dbt" / "models" / "marts" / "daily_revenue.sql").write_text(DAILY)
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    # Order 3 (2026-01-04) moves to a new day; the day's rows name only the new day.
    _drop(project, "orders_002.csv", "3,ada@example.org,12.99,paid,2026-01-06 16:40:00\n")
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    assert "_basin_batch_id in (" in _compiled(project, "daily_revenue")
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        kept = con.execute("select * from marts.daily_revenue order by 1").fetchall()
        whole = con.execute(
            "select cast(ordered_at as date), count(*), "
            "sum(case when order_status = 'paid' then amount else 0 end) "
            "from staging.stg_shop__orders group by 1 order by 1"
        ).fetchall()
    assert kept == whole
    assert [(str(d), n) for d, n, _ in kept if str(d) in ("2026-01-04", "2026-01-06")] == [
        ("2026-01-04", 1),
        ("2026-01-06", 1),
    ]
    # Order 4 leaves 2026-01-04 too: that day has no order left, and no row.
    _drop(project, "orders_003.csv", "4,alan@example.org,250.00,paid,2026-01-07 18:05:00\n")
    assert (done := cli("run", project=project)).exit_code == 0, done.output
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        days = [
            str(d) for (d,) in con.execute("select order_date from marts.daily_revenue").fetchall()
        ]
    assert "2026-01-04" not in days and "2026-01-07" in days
