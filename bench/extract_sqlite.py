"""Incremental SQLite extraction: a day's 1% of new rows, filtered by SQLite itself
(``sources/sqlite/pushdown.py``) against DuckDB's scanner reading the whole table and
filtering afterwards (Basin before the pushdown).

    python -m bench.extract_sqlite --rows 5000000 --pairs 3 [--index]

A SQLite table (8 columns, text cursor ``updated_at`` like the reference platform's
sources) is generated from a seed, extracted once in full, then 1% new rows are added;
each arm copies that state and times ``Platform.extract()`` of the new rows only
(imports and opening the store outside the clock). The arms must extract the same
rows; the result goes to ``bench/results/<date>-extract-sqlite-<rows>[-index].json``.
``--index``: the table has an index on ``updated_at``, as operational databases read
incrementally usually do; SQLite's filter then reads only the new rows.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import (
    alternate,
    machine,
    samples_json,
    summarise,
    time_extract,
    write_result,
)

DATA = Path(__file__).parent / ".data"
PROJECT = """
project: bench
sources:
  ops:
    kind: sqlite
    path: ops.db
    tables:
      transactions: {cursor: updated_at, overlap: 1 hour, primary_key: [transaction_id]}
"""


def _rows(start: int, count: int, day: int, rng: random.Random) -> list[tuple]:
    return [
        (
            i,
            rng.randrange(100_000),
            round(rng.uniform(-2000, 10000), 2),
            rng.choice(("EUR", "USD", "GBP", "CHF")),
            rng.choice(("pending", "booked", "reversed")),
            f"2026-01-{day:02d} {i % 24:02d}:{i % 60:02d}:00",
            f"2026-01-{day:02d} {i % 24:02d}:{i % 60:02d}:{i % 60:02d}",
            f"memo {i}",
        )
        for i in range(start, start + count)
    ]


def prepare(rows: int, index: bool) -> Path:
    """The project after its full extraction, with 1% new rows waiting (cached)."""
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    root = DATA / f"sqlite-{rows}{'-index' if index else ''}"
    if (root / "ready").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "basin.yml").write_text(PROJECT)
    rng = random.Random(42)
    db = sqlite3.connect(root / "ops.db")
    db.execute(
        "create table transactions (transaction_id integer primary key, account_id integer, "
        "amount real, currency text, status text, booked_at text, updated_at text, memo text)"
    )
    chunk = 500_000
    for start in range(0, rows, chunk):
        count = min(chunk, rows - start)
        db.executemany(
            "insert into transactions values (?, ?, ?, ?, ?, ?, ?, ?)",
            _rows(start, count, 1 + start * 27 // rows, rng),
        )
    if index:
        db.execute("create index transactions_updated_at on transactions (updated_at)")
    db.commit()
    platform = Platform(load_project(root))
    platform.extract()
    platform.close()
    db.executemany(
        "insert into transactions values (?, ?, ?, ?, ?, ?, ?, ?)",
        _rows(rows, rows // 100, 28, rng),
    )
    db.commit()
    db.close()
    (root / "ready").write_text("")
    return root


def arm(name: str, rows: int, index: bool) -> None:
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    folder = Path(tempfile.mkdtemp(prefix="basin-bench-"))
    try:
        shutil.copytree(prepare(rows, index), folder, dirs_exist_ok=True)
        if name == "scanner":  # Basin before the pushdown: the scanner reads it all
            from basin.sources.sqlite import pushdown

            pushdown.pushed_relation = lambda *args, **kwargs: None  # type: ignore[assignment]
        platform = Platform(load_project(folder))
        import basin.sources.sqlite.extract  # noqa: F401

        time_extract(platform)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--index", action="store_true")
    parser.add_argument("--arm", choices=["pushdown", "scanner"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        return arm(args.arm, args.rows, args.index)
    started = time.monotonic()
    prepare(args.rows, args.index)
    print(f"prepared in {time.monotonic() - started:.1f} s", file=sys.stderr)
    me = [sys.executable, "-m", "bench.extract_sqlite", "--rows", str(args.rows)]
    me += ["--index", "--arm"] if args.index else ["--arm"]
    samples = alternate(args.pairs, ("scanner", "pushdown"), me)
    summary = summarise(samples)
    if summary["scanner"]["rows"] != summary["pushdown"]["rows"]:
        raise SystemExit(f"the arms extracted different rows: {summary}")
    ratio = summary["pushdown"]["seconds"]["median"] / summary["scanner"]["seconds"]["median"]
    payload = {
        "benchmark": "extract-sqlite-incremental",
        "rows": args.rows,
        "index_on_cursor": args.index,
        "new_rows": summary["pushdown"]["rows"],
        "machine": machine(),
        "time_ratio": ratio,
        "summary": summary,
        "samples": samples_json(samples),
    }
    path = write_result(f"extract-sqlite-{args.rows}{'-index' if args.index else ''}", payload)
    print(
        f"incremental extract, SQLite filtering / scanner (medians): {ratio:.2f}  → {path}",
    )


if __name__ == "__main__":
    main()
