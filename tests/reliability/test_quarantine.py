"""Defect 9: quarantine never loses data. A file that cannot be read as a whole keeps
its original bytes in the lake and is read again record by record, so its good rows
still land; the output names each quarantined file and why; with
``quarantine.fail_run`` the exit status says rows were quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

YML = """
project: drops
sources:
  shop:
    kind: files
    path: drops
    entities:
      orders:
        glob: "orders_*.csv"
      events:
        glob: "events_*.jsonl"
        columns: {id: INTEGER, amount: "DECIMAL(10,2)"}
      exports:
        glob: "exports_*.json"
"""


@pytest.fixture
def drops(tmp_path: Path) -> Path:
    (tmp_path / "basin.yml").write_text(YML)
    folder = tmp_path / "drops"
    folder.mkdir()
    huge = "x" * (3 * 1024 * 1024)  # longer than DuckDB's default 2 MB line limit
    (folder / "orders_001.csv").write_text(f"id,name\n1,a\n2,{huge}\n3,c\n")
    (folder / "events_001.jsonl").write_text(
        '{"id": 1, "amount": "1.50"}\n{"id": 2, "amount": "oops"}\n{"id": 3, "amount": "2"}\n'
    )
    (folder / "exports_001.json").write_text(
        '[{"id": 1, "n": "a"}, {"id": 2, "n": "b"}, {"id": 3, "n": '  # truncated
    )
    return tmp_path


def _lake(project: Path, entity: str, columns: str = "id") -> list[tuple]:
    parts = sorted((project / ".basin/dev/lake/bronze/shop" / entity).glob("batch=*/*.parquet"))
    files = [str(p) for p in parts]
    return duckdb.sql(f"select {columns} from read_parquet({files!r}) order by 1").fetchall()


def test_good_rows_of_a_file_that_fails_as_a_whole_still_land(cli, drops: Path) -> None:
    result = cli("extract", project=drops)
    assert result.exit_code == 0, result.output
    assert [r[0] for r in _lake(drops, "orders")] == [1, 2, 3]  # the long line is a row
    assert _lake(drops, "events", "id, amount::varchar") == [(1, "1.50"), (3, "2.00")]
    assert _lake(drops, "exports") == [(1,), (2,)]
    # The output names each file and the reason.
    assert "quarantined events_001.jsonl: 1 record(s)" in result.stdout
    assert "amount" in result.stdout
    assert "quarantined exports_001.json: 1 record(s), original kept" in result.stdout
    # The original bytes of a file that failed as a whole are in the lake.
    kept = list((drops / ".basin/dev/lake").rglob("original__exports_001.json"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == (drops / "drops/exports_001.json").read_bytes()
    rejects = list((drops / ".basin/dev/lake").rglob("rejects.parquet"))
    reasons = [
        r
        for f in rejects
        for r in duckdb.sql(f"select file, line, reason, raw from '{f}'").fetchall()
    ]
    assert any(r[0] == "events_001.jsonl" and r[1] == 2 and "oops" in r[3] for r in reasons)
    assert any(r[0] == "exports_001.json" and "character" in r[2] for r in reasons)


def test_a_line_longer_than_the_limit_is_quarantined_and_the_rest_lands(cli, drops: Path) -> None:
    (drops / "basin.yml").write_text(
        YML.replace(
            'glob: "orders_*.csv"', 'glob: "orders_*.csv"\n        csv: {max_line_size: 1048576}'
        )
    )
    result = cli("extract", "--select", "shop.orders", project=drops)
    assert result.exit_code == 0, result.output
    assert [r[0] for r in _lake(drops, "orders")] == [1, 3]
    assert "LINE TOO LONG" in result.stdout and "original kept" in result.stdout


def test_fail_run_makes_the_exit_status_say_rows_were_quarantined(cli, drops: Path) -> None:
    (drops / "basin.yml").write_text(YML + "quarantine:\n  fail_run: true\n")
    result = cli("extract", project=drops)
    assert result.exit_code == 3
    assert "rows were quarantined" in result.stderr and "events_001.jsonl" in result.stderr
    # The good rows are in the lake all the same.
    assert _lake(drops, "exports") == [(1,), (2,)]
    manifests = list((drops / ".basin/dev/lake").rglob("_manifest.json"))
    assert sum(json.loads(m.read_text())["quarantined_rows"] for m in manifests) == 2
