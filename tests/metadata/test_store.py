"""The metadata store on SQLite and on the local PostgreSQL, including concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from basin.metadata.store import MetadataStore, open_store


def test_migrate_creates_tables_and_is_idempotent(store_args: tuple[str, str | None]) -> None:
    url, schema = store_args
    store = open_store(url, env="dev", schema=schema)
    assert store.current_revision() == MetadataStore.head_revision()
    store.migrate()  # again: no error, same revision
    assert store.current_revision() == MetadataStore.head_revision()
    store.close()


def test_runs_steps_batches_watermarks_publications(store_args: tuple[str, str | None]) -> None:
    url, schema = store_args
    store = open_store(url, env="dev", schema=schema)
    run_id = store.start_run("run")
    step = store.start_step(run_id, "extract")
    store.finish_step(step, "success", rows=42, detail={"crm.customers": {"rows": 42}})
    store.begin_batch("b1", "crm", "customers", run_id, "/lake/b1", [{"path": "a.csv"}])
    assert [b.status for b in store.batches("crm", "customers")] == ["writing"]
    store.complete_batch(
        "b1",
        row_count=42,
        quarantined_rows=1,
        files=[{"path": "a.csv", "sha256": "ab" * 32, "size": 10}],
        watermark="2026-01-01",
    )
    store.record_load("b1", "duckdb:/w", run_id, "raw.crm__customers", 42)
    store.record_publication(run_id, "/pub/warehouse.duckdb", {"marts.x": 3})
    store.finish_run(run_id, "success")

    [run] = store.runs()
    assert (run.run_id, run.status, run.command) == (run_id, "success", "run")
    assert run.ended_at is not None and run.ended_at.tzinfo is not None
    [st] = store.steps(run_id)
    assert (st.name, st.status, st.rows) == ("extract", "success", 42)
    [batch] = store.batches("crm", "customers")
    assert (batch.status, batch.row_count, batch.quarantined_rows) == ("complete", 42, 1)
    assert store.processed_files("crm", "customers") == {("a.csv", "ab" * 32)}
    assert store.watermark("crm", "customers") == "2026-01-01"
    pub = store.last_publication()
    assert pub is not None and pub.run_id == run_id
    store.close()


def _writer(url: str, schema: str | None, n: int, out: mp.Queue) -> None:
    store = MetadataStore(url, env="dev", schema=schema)
    store.migrate()
    ids = []
    for _ in range(n):
        run_id = store.start_run("extract")
        step = store.start_step(run_id, "extract")
        store.finish_step(step, "success", rows=1)
        store.finish_run(run_id, "success")
        ids.append(run_id)
    store.close()
    out.put(ids)


def test_many_processes_write_at_once(store_args: tuple[str, str | None]) -> None:
    url, schema = store_args
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    # The first start of every process races to create the tables, too.
    procs = [ctx.Process(target=_writer, args=(url, schema, 15, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    ids = [i for _ in procs for i in queue.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    store = MetadataStore(url, env="dev", schema=schema)
    runs = store.runs(limit=100)
    assert len(ids) == 60 and {r.run_id for r in runs} == set(ids)
    assert all(r.status == "success" for r in runs)
    store.close()


def test_unreachable_store_is_a_clear_error(tmp_path: Path) -> None:
    from basin.common.errors import MetadataError

    with pytest.raises(MetadataError, match="cannot open the metadata store"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none", env="dev")


def test_head_revision_constant_matches_the_migration_files() -> None:
    from basin.metadata.store import HEAD_REVISION

    assert MetadataStore.head_revision() == HEAD_REVISION


def test_catalog_entries_are_created_then_refreshed_keeping_what_is_not_given(
    store_args: tuple[str, str | None],
) -> None:
    url, schema = store_args
    store = open_store(url, env="dev", schema=schema)
    first = [
        {
            "key": f"marts.t{i}",
            "kind": "model",
            "namespace": "duckdb://w",
            "name": f"w.marts.t{i}",
            "columns": [("id", "INTEGER")],
            "description": f"table {i}",
            "owner": "finance",
            "tags": ["pii"],
            "rows": i,
        }
        for i in range(3)
    ]
    store.record_datasets(first)
    other = MetadataStore(url, env="other", schema=schema)
    other.record_datasets(first[:1])  # another environment's entry stays apart
    store.record_datasets(
        [
            {
                "key": "marts.t1",
                "kind": "model",
                "namespace": "duckdb://w",
                "name": "w.marts.t1",
                "rows": 10,
            },
            {"key": "raw.new", "kind": "raw", "namespace": "duckdb://w", "name": "w.raw.new"},
        ],
    )
    by_key = {d.key: d for d in store.datasets()}
    assert sorted(by_key) == ["marts.t0", "marts.t1", "marts.t2", "raw.new"]
    assert (by_key["marts.t1"].rows, by_key["marts.t1"].description) == (10, "table 1")
    assert (by_key["marts.t1"].owner, by_key["marts.t1"].tags) == ("finance", '["pii"]')
    assert by_key["marts.t1"].columns == '[["id", "INTEGER"]]'
    assert by_key["raw.new"].rows is None
    assert [d.key for d in other.datasets()] == ["marts.t0"]
    store.close()
    other.close()


def test_last_extraction_seconds_are_the_newest_complete_batch_of_each_entity(
    store_args: tuple[str, str | None],
) -> None:
    from datetime import timedelta

    from sqlalchemy import select, update

    from basin.metadata.models import Batch

    url, schema = store_args
    store = open_store(url, env="dev", schema=schema)
    run_id = store.start_run("run")
    for batch, entity, seconds, complete in (
        ("b1", "orders", 9.0, True),  # older: not the newest
        ("b2", "orders", 2.0, True),
        ("b3", "customers", 5.0, True),
        ("b4", "customers", 1.0, False),  # newest, but never completed
    ):
        store.begin_batch(batch, "shop", entity, run_id, f"/lake/{batch}", [])
        if complete:
            store.complete_batch(batch, row_count=1, quarantined_rows=0, files=[], watermark=None)
        with store.session() as s:
            [created] = s.execute(select(Batch.created_at).where(Batch.batch_id == batch)).one()
            created = created + timedelta(seconds=int(batch[1]))  # b1 oldest … b4 newest
            s.execute(
                update(Batch)
                .where(Batch.batch_id == batch)
                .values(
                    created_at=created,
                    completed_at=created + timedelta(seconds=seconds) if complete else None,
                )
            )
    assert store.last_extraction_seconds() == {("shop", "orders"): 2.0, ("shop", "customers"): 5.0}
    store.close()
