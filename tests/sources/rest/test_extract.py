"""REST sources against a real local HTTP server: pagination, auth, retries, failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from basin.common.errors import ExtractError, SourceUnavailable
from basin.config import load_project
from basin.pipeline.platform import Platform

from .fake_api import TOKEN, FakeApi


@pytest.fixture
def api() -> Iterator[FakeApi]:
    server = FakeApi().start()
    server.records = [
        {"id": i, "name": f"campaign {i}", "updated_at": f"2026-01-0{i}T10:00:00"}
        for i in range(1, 6)
    ]
    yield server
    server.stop()


def make_platform(root: Path, api: FakeApi, token: str = TOKEN, extra: str = "") -> Platform:
    (root / "basin.yml").write_text(
        f"""
project: restp
sources:
  mail:
    kind: rest
    base_url: {api.url}
    auth: {{type: bearer, token: "${{env:MAIL_TOKEN}}"}}
    retries: {{max_attempts: 4, backoff_factor: 0.01, max_delay: 2}}
    timeout: 5
    endpoints:
      campaigns:
        path: /cursor
        record_path: data
        pagination: {{type: cursor, cursor_path: next_cursor, cursor_param: cursor}}
        primary_key: [id]
        cursor: updated_at
        cursor_param: updated_since
        overlap: 1 hour
      pages:
        path: /pages
        record_path: items
        pagination: {{type: page_number, page_param: page, base_page: 1}}
      offsets:
        path: /offset
        record_path: items
        pagination: {{type: offset, limit: 2, total_path: total}}
      links:
        path: /links
        pagination: {{type: link_header}}
{extra}"""
    )
    (root / ".env").write_text(f"MAIL_TOKEN={token}\n")
    return Platform(load_project(root))


def lake_rows(platform: Platform, entity: str) -> list[tuple]:
    files = [
        f
        for m in platform.lake.complete_batches("mail", entity)
        for f in platform.lake.data_files(m)
    ]
    if not files:
        return []
    return duckdb.sql(
        f"select id, name from read_parquet({files!r}, union_by_name = true, hive_partitioning = false) order by id"
    ).fetchall()


@pytest.mark.parametrize("entity", ["campaigns", "pages", "offsets", "links"])
def test_each_pagination_style_reads_every_record(
    tmp_path: Path, api: FakeApi, entity: str
) -> None:
    platform = make_platform(tmp_path, api)
    [result] = platform.extract([f"mail.{entity}"])
    assert result.rows == 5
    assert [r[0] for r in lake_rows(platform, entity)] == [1, 2, 3, 4, 5]


def test_429_with_retry_after_and_500_are_retried(tmp_path: Path, api: FakeApi) -> None:
    api.fail[("/cursor", "2")] = [429, 500]
    platform = make_platform(tmp_path, api)
    [result] = platform.extract(["mail.campaigns"])
    assert result.rows == 5
    statuses = [s for p, q, s in api.requests if q.get("cursor") == "2"]
    assert statuses == [429, 500, 200]


def test_failure_mid_pagination_keeps_nothing_and_advances_nothing(
    tmp_path: Path, api: FakeApi
) -> None:
    platform = make_platform(tmp_path, api)
    platform.extract(["mail.campaigns"])
    watermark = platform.store.watermark("mail", "campaigns")
    api.records.append({"id": 6, "name": "campaign 6", "updated_at": "2026-01-09T10:00:00"})
    api.records.append({"id": 7, "name": "campaign 7", "updated_at": "2026-01-09T11:00:00"})
    api.fail[("/cursor", "2")] = "always"  # page 2 of the incremental read never works
    with pytest.raises(
        SourceUnavailable, match=r"mail.campaigns: .*/cursor failed with HTTP 500 after 4 attempt"
    ):
        platform.extract(["mail.campaigns"])
    assert platform.store.watermark("mail", "campaigns") == watermark
    assert len(platform.lake.complete_batches("mail", "campaigns")) == 1
    assert [b.status for b in platform.store.batches("mail", "campaigns")] == [
        "complete",
        "abandoned",
    ]
    del api.fail[("/cursor", "2")]
    [result] = platform.extract(["mail.campaigns"])  # the API is back: nothing was lost
    assert {r[0] for r in lake_rows(platform, "campaigns")} >= {6, 7}
    assert result.rows >= 2


def test_incremental_sends_watermark_minus_overlap_and_skips_unchanged(
    tmp_path: Path, api: FakeApi
) -> None:
    platform = make_platform(tmp_path, api)
    platform.extract(["mail.campaigns"])
    assert json.loads(platform.store.watermark("mail", "campaigns"))["value"].startswith(
        "2026-01-05T10:00:00"
    )
    api.requests.clear()
    [again] = platform.extract(["mail.campaigns"])
    assert api.requests[0][1]["updated_since"].startswith("2026-01-05T09:00:00")  # 1 hour overlap
    assert again.batch_id is None and again.note == "no new rows"
    api.records[1] = {"id": 2, "name": "renamed", "updated_at": "2026-01-06T10:00:00"}
    [changed] = platform.extract(["mail.campaigns"])
    assert changed.rows == 1
    assert (2, "renamed") in lake_rows(platform, "campaigns")


def test_wrong_token_is_a_clear_error(tmp_path: Path, api: FakeApi) -> None:
    platform = make_platform(tmp_path, api, token="wrong")
    with pytest.raises(ExtractError, match=r"HTTP 401 \(a client error, not retried\)") as info:
        platform.extract(["mail.pages"])
    assert "attempt" not in info.value.message  # one request was made, and it says so
    assert platform.lake.complete_batches("mail", "pages") == []


def test_extracting_in_threads_leaves_stdout_alone_and_airflow_unimported(
    tmp_path: Path, api: FakeApi
) -> None:
    """dlt, where Airflow is installed, imported it with sys.stdout swapped for a
    buffer; from four extraction threads at once the swaps interleaved and left the
    process's stdout a buffer: what Basin printed next was lost (an Airflow DAG test
    lost its result line that way in CI)."""
    import subprocess
    import sys

    make_platform(tmp_path, api)
    code = (
        "import json, sys\n"
        "from basin.config import load_project\n"
        "from pathlib import Path\nfrom basin.pipeline.platform import Platform\n"
        f"results = Platform(load_project(Path({str(tmp_path)!r}))).extract()\n"
        "json.dump({'rows': sorted(r.rows for r in results),\n"
        "           'stdout': sys.stdout is sys.__stdout__, 'stderr': sys.stderr is sys.__stderr__,\n"
        "           'airflow': sorted(m for m in sys.modules if m.split('.')[0] == 'airflow')},\n"
        f"          open({str(tmp_path / 'out.json')!r}, 'w'))\n"
        "print('still printing')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out == {"rows": [5, 5, 5, 5], "stdout": True, "stderr": True, "airflow": []}
    assert "still printing" in done.stdout
