"""Two environments sharing one store (a PostgreSQL database, or one SQLite file) never
see each other's state; a store written before environments scoped every table keeps
its rows, each in the environment that wrote it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text

from basin.metadata.store import MetadataStore, open_store


def _work(store: MetadataStore, batch: str, watermark: str) -> str:
    """What one extract + load + build + publish leaves in the store."""
    run_id = store.start_run("run")
    store.begin_batch(batch, "crm", "customers", run_id, f"/lake/{batch}", [])
    store.complete_batch(
        batch,
        row_count=5,
        quarantined_rows=0,
        files=[{"path": "customers.csv", "sha256": "cd" * 32, "size": 9}],
        watermark=watermark,
    )
    store.record_schema(
        "crm", "customers", [{"name": "id", "type": "INTEGER"}], change=None, batch_id=batch
    )
    store.record_load(batch, "duckdb:/w", run_id, "raw.crm__customers", 5)
    step = store.start_step(run_id, "transform")
    store.finish_step(step, "success", detail={"select": None})
    store.record_checks(
        run_id,
        [
            {
                "unique_id": "t.1",
                "name": "unique_id",
                "model": "m",
                "column_name": "id",
                "severity": "error",
                "status": "pass",
                "failures": 0,
                "message": None,
                "sample": None,
            }
        ],
    )
    store.record_publication(run_id, f"/{batch}/warehouse.duckdb", {"marts.x": 1})
    store.open_incident("schema_breaking", f"{batch} broke", source="crm", entity="customers")
    store.record_entity_config("crm", "customers", "f" * 64, {"mode": "full"})
    store.finish_run(run_id, "success")
    return run_id


def test_two_environments_share_a_store_without_sharing_state(
    store_args: tuple[str, str | None],
) -> None:
    url, schema = store_args
    dev = open_store(url, env="dev", schema=schema)
    prod = open_store(url, env="prod", schema=schema)
    dev_run = _work(dev, "b-dev", "2026-01-01")
    # prod has not extracted yet: it must not start from dev's watermark or files.
    assert prod.watermark("crm", "customers") is None
    assert prod.processed_files("crm", "customers") == set()
    assert prod.entity_schema("crm", "customers") is None
    assert prod.entity_config("crm", "customers") is None
    assert prod.batches() == [] and prod.lake_rows("crm", "customers") == 0
    assert prod.runs() == [] and prod.run(dev_run) is None
    assert prod.last_publication() is None and prod.build_history() == []
    assert prod.incidents() == [] and prod.check_results() == []

    prod_run = _work(prod, "b-prod", "2025-06-30")
    assert dev.watermark("crm", "customers") == "2026-01-01"
    assert prod.watermark("crm", "customers") == "2025-06-30"
    assert [r.run_id for r in dev.runs()] == [dev_run]
    assert [r.run_id for r in prod.runs()] == [prod_run]
    assert dev.last_publication().location == "/b-dev/warehouse.duckdb"  # type: ignore[union-attr]
    assert [i.message for i in prod.incidents()] == ["b-prod broke"]  # not one shared incident
    assert [b.batch_id for b in dev.batches()] == ["b-dev"]
    assert {s.run_id for s in prod.build_history()} == {prod_run}
    assert {c.run_id for c in dev.check_results()} == {dev_run}
    # Resetting prod's entity leaves dev's state alone.
    prod.reset_entity("crm", "customers")
    assert prod.watermark("crm", "customers") is None
    assert dev.watermark("crm", "customers") == "2026-01-01"
    assert dev.processed_files("crm", "customers") == {("customers.csv", "cd" * 32)}
    dev.close()
    prod.close()


def test_a_store_from_before_environments_keeps_its_rows_in_their_environment(
    store_args: tuple[str, str | None],
) -> None:
    from alembic import command
    from alembic.config import Config

    from basin.metadata.store import MIGRATIONS

    url, schema = store_args
    old = MetadataStore(url, env="dev", schema=schema)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with old.engine.begin() as conn:
        if schema:
            conn.execute(text(f'create schema if not exists "{schema}"'))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")  # the tables as Basin 0.1 sessions 1–6 left them
        for env, run, batch, wm in (
            ("dev", "r1", "b1", "2026-01-01"),
            ("prod", "r2", "b2", "2025-01-01"),
        ):
            conn.execute(
                text(
                    "insert into basin_runs (run_id, env, command, status, started_at, basin_version) "
                    "values (:r, :e, 'run', 'success', :t, '0.1.0')"
                ),
                {"r": run, "e": env, "t": now},
            )
            conn.execute(
                text(
                    "insert into basin_batches (batch_id, source, entity, run_id, status, path, created_at) "
                    "values (:b, 'crm', 'customers_' || :e, :r, 'complete', '/x', :t)"
                ),
                {"b": batch, "e": env, "r": run, "t": now},
            )
            conn.execute(
                text(
                    "insert into basin_watermarks (source, entity, value, batch_id, updated_at) "
                    "values ('crm', 'customers_' || :e, :v, :b, :t)"
                ),
                {"e": env, "v": wm, "b": batch, "t": now},
            )
            conn.execute(
                text(
                    "insert into basin_publications (run_id, published_at, location, tables) "
                    "values (:r, :t, :e, :tables)"
                ),
                {"r": run, "t": now, "e": env, "tables": json.dumps({"marts.x": 1})},
            )
        # A row no run or batch names goes to the store's most used environment.
        conn.execute(
            text(
                "insert into basin_incidents (kind, severity, message, opened_at, last_seen_at, occurrences) "
                "values ('task_failed', 'error', 'orphan', :t, :t, 1)"
            ),
            {"t": now},
        )
    old.close()

    dev = open_store(url, env="dev", schema=schema)  # migrates to the newest revision
    prod = MetadataStore(url, env="prod", schema=schema)
    assert dev.current_revision() == MetadataStore.head_revision()
    assert dev.watermark("crm", "customers_dev") == "2026-01-01"
    assert dev.watermark("crm", "customers_prod") is None
    assert prod.watermark("crm", "customers_prod") == "2025-01-01"
    assert dev.last_publication().location == "dev"  # type: ignore[union-attr]
    assert prod.last_publication().location == "prod"  # type: ignore[union-attr]
    assert [b.batch_id for b in prod.batches()] == ["b2"]
    assert [r.run_id for r in prod.runs()] == ["r2"]
    assert len(dev.incidents()) + len(prod.incidents()) == 1
    assert dev.last_publication().published_at == now  # type: ignore[union-attr]  # aware UTC
    dev.close()
    prod.close()
