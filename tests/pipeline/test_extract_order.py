"""Extraction starts the entities whose last extraction took longest first, and those
never extracted before all, so no long entity is left to start while workers idle."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import update

from basin.metadata.models import Batch
from basin.metadata.store import open_store
from basin.pipeline.steps.extract import longest_first


def test_the_longest_last_extraction_starts_first_and_new_entities_before_all(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'metadata.db'}", env="dev")
    run_id = store.start_run("run")
    for entity, seconds in (("customers", 0.4), ("events", 2.1), ("orders", 0.9)):
        store.begin_batch(entity, "shop", entity, run_id, f"/lake/{entity}", [])
        store.complete_batch(entity, row_count=1, quarantined_rows=0, files=[], watermark=None)
        with store.session() as s:
            batch = s.get(Batch, entity)
            s.execute(
                update(Batch)
                .where(Batch.batch_id == entity)
                .values(completed_at=batch.created_at + timedelta(seconds=seconds))
            )
    pairs = [("shop", "customers"), ("shop", "orders"), ("shop", "events"), ("shop", "new")]
    order = longest_first(SimpleNamespace(store=store), pairs)  # type: ignore[arg-type]
    assert order == [("shop", "new"), ("shop", "events"), ("shop", "orders"), ("shop", "customers")]
    store.close()
