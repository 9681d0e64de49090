"""One environment's rows out of a shared store and back: the other environment's
rows are never touched, and the store goes on numbering after the restored rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from basin.metadata.backup import export_env, import_env
from basin.metadata.store import MetadataStore


def _rows(store: MetadataStore) -> dict[str, list]:
    with store.engine.connect() as conn:
        return {
            "runs": conn.execute(
                text("select run_id, status from basin_runs where env = :e order by 1"),
                {"e": store.env},
            ).fetchall(),
            "steps": conn.execute(
                text(
                    "select s.id, s.name from basin_steps s join basin_runs r using (run_id) "
                    "where r.env = :e order by 1"
                ),
                {"e": store.env},
            ).fetchall(),
            "watermarks": conn.execute(
                text("select source, entity, value from basin_watermarks where env = :e"),
                {"e": store.env},
            ).fetchall(),
        }


def _work(store: MetadataStore, name: str) -> None:
    run = store.start_run(name)
    store.finish_step(store.start_step(run, name), "success", rows=1)
    store.finish_run(run, "success")


def test_an_environment_is_restored_alone_into_a_shared_store(
    store_args: tuple[str, str | None], tmp_path: Path
) -> None:
    url, schema = store_args
    dev = MetadataStore(url, env="dev", schema=schema)
    dev.migrate()
    prod = MetadataStore(url, env="prod", schema=schema)
    try:
        _work(dev, "extract")
        _work(prod, "extract")
        _work(dev, "load")
        saved = _rows(dev)
        copied = export_env(dev, tmp_path / "dev.db")
        assert copied >= len(saved["runs"]) + len(saved["steps"])

        _work(dev, "transform")  # after the backup: gone after the restore
        _work(prod, "transform")  # another environment's: kept
        prod_before = _rows(prod)
        import_env(dev, tmp_path / "dev.db", audit=True)
        assert _rows(dev) == saved
        assert _rows(prod) == prod_before
        # Numbering goes on past every restored and kept row (PostgreSQL: sequences).
        _work(dev, "publish")
        newest = _rows(dev)["steps"][-1]
        assert newest[1] == "publish"
        assert newest[0] > max(i for i, _ in saved["steps"] + prod_before["steps"])
    finally:
        dev.close()
        prod.close()


def test_a_store_made_anew_goes_on_numbering_after_the_restored_rows(
    store_args: tuple[str, str | None], tmp_path: Path
) -> None:
    url, schema = store_args
    old = MetadataStore(url, env="dev", schema=schema)
    old.migrate()
    for name in ("extract", "load", "transform"):
        _work(old, name)
    export_env(old, tmp_path / "dev.db")
    saved = _rows(old)
    old.close()
    # The store lost: a new one (a new SQLite file, a new PostgreSQL schema).
    if schema:
        import psycopg
        from tests.conftest import PG_URL

        fresh_schema = f"{schema}_new"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'create schema "{fresh_schema}"')
        fresh = MetadataStore(url, env="dev", schema=fresh_schema)
    else:
        fresh_schema = None
        fresh = MetadataStore(f"sqlite:///{tmp_path / 'new.db'}", env="dev")
    try:
        fresh.migrate()
        import_env(fresh, tmp_path / "dev.db", audit=True)
        assert _rows(fresh) == saved
        _work(fresh, "publish")  # its step id must not collide with a restored one
        assert _rows(fresh)["steps"][-1][1] == "publish"
    finally:
        fresh.close()
        if fresh_schema:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'drop schema if exists "{fresh_schema}" cascade')
