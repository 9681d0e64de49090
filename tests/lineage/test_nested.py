"""Column lineage of nested JSON fields and of columns whose names SQL must quote."""

from __future__ import annotations

from pathlib import Path

YML = """
project: app
sources:
  app:
    kind: files
    path: drops
    entities:
      events:
        glob: "events_*.jsonl"
publish:
  schemas: [marts]
"""


def test_a_nested_field_traces_to_the_source_column_that_holds_it(cli, tmp_path: Path) -> None:
    (tmp_path / "basin.yml").write_text(YML)
    (tmp_path / "drops").mkdir()
    (tmp_path / "drops" / "events_001.jsonl").write_text(
        '{"event_id": 1, "user": {"id": 7, "name": "ada"}, "order": 3}\n'
        '{"event_id": 2, "user": {"id": 8, "name": "alan"}, "order": 4}\n'
    )
    models = tmp_path / "dbt" / "models"
    models.mkdir(parents=True)
    (tmp_path / "dbt" / "dbt_project.yml").write_text(
        "name: app\nprofile: app\nversion: '1.0'\nmodels:\n  app:\n    +schema: marts\n"
    )
    (models / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: app\n    schema: raw\n"
        "    tables:\n      - name: events\n        identifier: app__events\n"
    )
    (models / "user_events.sql").write_text(
        'select event_id, "user".id as user_id, "user"."name" as user_name, "order" as seq\n'
        "from {{ source('app', 'events') }}\n"
    )
    run = cli("run", project=tmp_path)
    assert run.exit_code == 0, run.output
    assert "not traced" not in run.output
    for column, upstream in (("user_id", "user"), ("user_name", "user"), ("seq", "order")):
        tree = cli("lineage", "user_events", "-c", column, project=tmp_path).stdout
        assert f"raw.app__events.{upstream}" in tree, tree
        # ... and on through the lake to the source it was extracted from.
        assert f"source.app.events.{upstream}" in tree, tree
