"""Defect 7: incremental runs never land the same row twice.

A run with nothing new appends nothing, whatever the column types (a ``timetz`` with a
non-UTC offset included); a REST API whose pagination repeats itself stops with a
clear error instead of looping or landing duplicates; a record an API returns twice
within one read is kept once when the endpoint has a primary key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from basin.common.errors import ExtractError
from tests.sources.rest import test_extract as rest
from tests.sources.rest.fake_api import FakeApi
from tests.sources.rest.test_extract import lake_rows, make_platform

api = rest.api  # the REST tests' fixture: a real HTTP server on 127.0.0.1


def test_a_stuck_cursor_stops_with_a_clear_error(tmp_path: Path, api: FakeApi) -> None:
    api.quirks.add("stuck_cursor")
    platform = make_platform(tmp_path, api)
    with pytest.raises(ExtractError, match="the pagination repeats itself — page 3 asked for"):
        platform.extract(["mail.campaigns"])
    assert platform.lake.complete_batches("mail", "campaigns") == []
    assert platform.store.watermark("mail", "campaigns") is None
    assert len(api.requests) < 10  # it stopped, it did not loop


def test_an_api_ignoring_its_page_parameter_stops_with_a_clear_error(
    tmp_path: Path, api: FakeApi
) -> None:
    api.quirks.add("same_page")
    platform = make_platform(tmp_path, api)
    with pytest.raises(ExtractError, match="page 2 returned the same records as page 1"):
        platform.extract(["mail.pages"])
    assert platform.lake.complete_batches("mail", "pages") == []


def test_a_record_returned_twice_is_kept_once_by_primary_key(
    tmp_path: Path, api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from basin.sources.rest.extract import RestExtractor

    read_as: dict[str, str] = {}
    relation = RestExtractor.relation

    def spy(self, con, entity, *args):  # type: ignore[no-untyped-def]
        read_as[entity] = sql = relation(self, con, entity, *args)
        return sql

    monkeypatch.setattr(RestExtractor, "relation", spy)
    extra = "".join(
        f"      {name}:\n        path: /offset\n        record_path: items\n"
        "        primary_key: [id]\n"
        "        pagination: {type: offset, limit: 2, total_path: total}\n"
        for name in ("offsets_pk", "offsets_unique")
    )
    platform = make_platform(tmp_path, api, extra=extra)
    # Keys that do not repeat: the records are read as sent, no window over them (it
    # held 20M records with their strings in memory: 4.2 GB at scale 100).
    [unique] = platform.extract(["mail.offsets_unique"])
    assert unique.rows == 5 and "OVER" not in read_as["offsets_unique"].upper()
    api.quirks.add("shifted_offset")
    [without_key] = platform.extract(["mail.offsets"])
    assert without_key.rows > 5  # no key to dedupe by: the API's duplicates land as sent
    [with_key] = platform.extract(["mail.offsets_pk"])
    assert "OVER" in read_as["offsets_pk"].upper()  # a repeated key: the window keeps one
    assert [r[0] for r in lake_rows(platform, "offsets_pk")] == [1, 2, 3, 4, 5]
    assert with_key.rows == 5


@pytest.mark.postgres
def test_timetz_with_an_offset_is_not_appended_again(
    tmp_path: Path, pg_url: str, pg_schema: str
) -> None:
    import psycopg

    from basin.config import load_project
    from basin.pipeline.platform import Platform

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            f'create table "{pg_schema}".shifts (id int, starts timetz, updated_at timestamptz)'
        )
        conn.execute(
            f"insert into \"{pg_schema}\".shifts values (1, '09:30:00+02', now()), "
            "(2, '17:00:00-05:30', now())"
        )
    (tmp_path / "basin.yml").write_text(
        f"""
project: tz
sources:
  hr:
    kind: postgres
    dsn: "{pg_url}"
    schema: {pg_schema}
    tables:
      shifts: {{cursor: updated_at, overlap: 1 hour, primary_key: [id]}}
"""
    )
    platform = Platform(load_project(tmp_path))
    [first] = platform.extract()
    assert first.rows == 2
    for _ in range(2):
        [again] = platform.extract()
        assert again.batch_id is None and again.note == "no new rows"
    platform.close()
