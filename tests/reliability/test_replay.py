"""Defect 3: replay never loses data, and one bad batch does not hold up the others.

`basin replay` checks every batch first and swaps the rebuilt raw tables in only
when all loaded; a batch the store knows as complete whose manifest or files are
missing or corrupt fails it by name, leaving the warehouse as it was.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.reliability.conftest import basin, drop, warehouse

pytestmark = pytest.mark.e2e

CUSTOMERS = """
      customers:
        glob: "customers_*.csv"
        primary_key: [customer_id]
"""


@pytest.fixture
def two_entities(project: Path) -> Path:
    yml = project / "basin.yml"
    yml.write_text(yml.read_text().replace("\ndbt:", CUSTOMERS + "\ndbt:", 1))
    (project / "drops" / "shop" / "customers_001.csv").write_text(
        "customer_id,email\n1,ada@example.org\n2,grace@example.org\n"
    )
    return project


def _state(project: Path) -> tuple:
    return (
        warehouse(project, "select count(*) from raw.shop__orders"),
        warehouse(project, "select count(*) from raw.shop__customers"),
        warehouse(project, "select batch_id from _basin.load_ledger order by 1"),
    )


def _batch_dirs(project: Path, entity: str) -> list[Path]:
    return sorted((project / ".basin/dev/lake/bronze/shop" / entity).glob("batch=*"))


def test_replay_rebuilds_every_batch(cli, two_entities: Path) -> None:
    project = two_entities
    assert cli("run", project=project).exit_code == 0
    drop(project, "orders_002.csv", "6,ken@example.org,10.00,paid,2026-01-06 10:00:00\n")
    assert cli("run", project=project).exit_code == 0
    before = _state(project)
    result = cli("replay", project=project)
    assert result.exit_code == 0, result.output
    assert "2 raw table(s) rebuilt from 3 batch(es)" in result.stdout
    assert "raw.shop__orders: 6 rows" in result.stdout  # what each table holds now
    assert _state(project) == before


def test_a_missing_manifest_fails_replay_by_name_and_changes_nothing(
    cli, two_entities: Path
) -> None:
    project = two_entities
    assert cli("run", project=project).exit_code == 0
    before = _state(project)
    [orders_batch] = _batch_dirs(project, "orders")
    (orders_batch / "_manifest.json").unlink()

    result = cli("replay", project=project)
    assert result.exit_code != 0
    batch_id = orders_batch.name.split("=", 1)[1]
    assert f"batch {batch_id} of shop.orders" in result.stderr
    assert "_manifest.json is missing" in result.stderr
    assert "✓" not in result.stdout
    assert _state(project) == before


def test_a_corrupt_file_fails_replay_and_unrelated_tables_stay(cli, two_entities: Path) -> None:
    project = two_entities
    assert cli("run", project=project).exit_code == 0
    before = _state(project)
    [customers_batch] = _batch_dirs(project, "customers")
    part = customers_batch / "part-00000.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    part.write_bytes(bytes(data))

    result = cli("replay", project=project)
    assert result.exit_code != 0
    assert str(part) in result.stderr and "checksum" in result.stderr
    assert _state(project) == before


def test_a_corrupt_manifest_is_named(cli, two_entities: Path) -> None:
    project = two_entities
    assert cli("run", project=project).exit_code == 0
    before = _state(project)
    [orders_batch] = _batch_dirs(project, "orders")
    (orders_batch / "_manifest.json").write_text('{"batch_id": ')
    result = cli("replay", project=project)
    assert result.exit_code != 0 and "_manifest.json cannot be read" in result.stderr
    assert "internal error" not in result.stderr
    assert _state(project) == before


def test_a_replay_killed_before_it_commits_leaves_the_old_tables(two_entities: Path) -> None:
    project = two_entities
    assert basin(project, "run").wait(timeout=300) == 0
    before = _state(project)
    killed = basin(project, "replay", env={"BASIN_KILL_AT": "replay.mid"})
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert _state(project) == before
    again = basin(project, "replay")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert _state(project) == before


def test_load_of_a_corrupt_batch_does_not_block_other_entities(cli, two_entities: Path) -> None:
    project = two_entities
    assert cli("run", project=project).exit_code == 0
    drop(project, "orders_002.csv", "6,ken@example.org,10.00,paid,2026-01-06 10:00:00\n")
    (project / "drops/shop/customers_002.csv").write_text("customer_id,email\n3,ken@example.org\n")
    assert cli("extract", project=project).exit_code == 0
    newest = _batch_dirs(project, "orders")[-1]
    (newest / "part-00000.parquet").write_bytes(b"truncated")

    result = cli("load", project=project)
    assert result.exit_code != 0
    assert (
        f"batch {newest.name.split('=', 1)[1]}" in result.stderr and "shop.orders" in result.stderr
    )
    # The customers' new batch loaded all the same.
    assert warehouse(project, "select count(*) from raw.shop__customers") == [(3,)]
    assert warehouse(project, "select count(*) from raw.shop__orders") == [(5,)]
    manifest = json.loads((newest / "_manifest.json").read_text())
    assert manifest["row_count"] == 1


@pytest.mark.postgres
def test_replay_on_postgres_is_one_transaction(two_entities: Path, pg_database: str) -> None:
    from tests.warehouses.postgres.test_warehouse import add_pg_env, pg

    project = two_entities
    add_pg_env(project, pg_database)

    def state() -> tuple:
        return (
            pg(pg_database, "select count(*) from raw.shop__orders"),
            pg(pg_database, "select count(*) from raw.shop__customers"),
            pg(pg_database, "select batch_id from _basin.load_ledger order by 1"),
        )

    first = basin(project, "--env", "prod", "run")
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    before = state()
    killed = basin(project, "--env", "prod", "replay", env={"BASIN_KILL_AT": "replay.mid"})
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert state() == before
    again = basin(project, "--env", "prod", "replay")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert state() == before


def test_snowflake_replay_copies_everything_before_it_swaps() -> None:
    from basin.lake.manifest import DataFile, Manifest
    from basin.warehouses.snowflake.load import replay_statements

    def manifest(batch: str, mode: str = "append") -> Manifest:
        return Manifest(
            batch_id=batch,
            source="shop",
            entity="orders",
            run_id="r1",
            created_at="2026-12-03T00:00:00",
            row_count=2,
            columns=[{"name": "order_id", "type": "INTEGER"}],
            files=[DataFile("part-00000.parquet", 10, "0" * 64, 2)],
            load_mode=mode,
        )

    sql = replay_statements(
        [("shop", "orders", [manifest("b1"), manifest("b2")])], "_basin.lake", "r9"
    )
    copies = [
        i for i, s in enumerate(sql) if s.startswith("COPY INTO raw.shop__orders__basin_replay")
    ]
    swap = sql.index("ALTER TABLE raw.shop__orders SWAP WITH raw.shop__orders__basin_replay")
    assert len(copies) == 2 and max(copies) < swap
    assert not any(
        s.startswith("DROP TABLE raw.shop__orders ") or s == "DROP TABLE raw.shop__orders"
        for s in sql
    )
    ledger = sql[sql.index("BEGIN TRANSACTION") :]
    assert (
        ledger[-1] == "COMMIT" and sum("INSERT INTO _basin.load_ledger" in s for s in ledger) == 2
    )


def test_replay_over_an_evolved_schema_and_a_full_refresh(cli, two_entities: Path) -> None:
    project = two_entities
    assert cli("run", project=project).exit_code == 0
    # A new column arrives (additive evolution), then the entity is re-baselined.
    (project / "drops/shop/customers_002.csv").write_text(
        "customer_id,email,phone\n3,ken@example.org,555\n"
    )
    assert cli("run", project=project).exit_code == 0
    before = _state(project)
    assert cli("replay", project=project).exit_code == 0
    assert _state(project) == before

    assert cli("extract", "-s", "shop.customers", "--full-refresh", project=project).exit_code == 0
    assert cli("run", project=project).exit_code == 0
    after_refresh = _state(project)
    assert after_refresh[1] == [(3,)]
    result = cli("replay", project=project)
    assert result.exit_code == 0, result.output
    assert _state(project) == after_refresh
