"""Extraction benchmark: dropped CSV files → the lake, Basin vs DuckDB's own COPY.

    python -m bench.extract_files --rows 1000000 --files 10 --pairs 3

Baseline: one DuckDB connection, ``COPY (FROM read_csv([files…], columns = …)) TO
'x.parquet'`` with the same declared column types — the fastest DuckDB turns the
files into Parquet. Basin: ``Platform.extract`` of the same files into a fresh lake
(one Parquet part per file with its lineage columns, rejected-row capture, the
dialect and date-format checks, checksums of the files and parts, manifest, metadata
store). Module imports and opening the metadata store are outside the clock in both
arms. Time ratio = Basin seconds / baseline seconds; the target (BENCHMARKS.md) is a
throughput of at least 0.8× the baseline's, i.e. a time ratio of at most 1.25.

The files are generated once from a fixed seed under ``$BASIN_BENCH_DATA`` (default
``/tmp/basin-bench``) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
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

DATA = Path(os.environ.get("BASIN_BENCH_DATA", "/tmp/basin-bench"))
COLUMNS = {
    "transaction_id": "BIGINT",
    "account_id": "INTEGER",
    "amount": "DECIMAL(12,2)",
    "currency": "VARCHAR",
    "status": "VARCHAR",
    "created_at": "TIMESTAMP",
    "memo": "VARCHAR",
}


def folder(rows: int, files: int) -> Path:
    return DATA / f"files-{rows}-{files}"


def ensure_files(rows: int, files: int) -> list[Path]:
    """``files`` CSV files of ``rows`` rows in all, from a fixed seed, made once."""
    where = folder(rows, files)
    done = where / ".complete"
    if done.exists():
        return sorted(where.glob("transactions_*.csv"))
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    rng = random.Random(42)
    per_file = rows // files
    started = time.monotonic()
    for f in range(files):
        lines = [",".join(COLUMNS) + "\n"]
        for i in range(per_file):
            n = f * per_file + i + 1
            lines.append(
                f"{n},{rng.randrange(100000)},{rng.uniform(-2000, 8000):.2f},"
                f"{('EUR', 'USD', 'GBP', 'CHF')[n % 4]},{('pending', 'booked', 'reversed')[n % 3]},"
                f"2026-01-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d},"
                f"memo {rng.getrandbits(64):016x}\n"
            )
        (where / f"transactions_{f:03d}.csv").write_text("".join(lines))
    done.touch()
    print(
        f"generated {rows:,} rows in {files} files in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return sorted(where.glob("transactions_*.csv"))


def arm_duckdb(rows: int, files: int) -> None:
    import duckdb

    from basin.common.sql import literal
    from basin.lake import PARQUET_COPY_OPTIONS

    paths = ensure_files(rows, files)
    out = Path(tempfile.mkdtemp(prefix="basin-bench-"))
    try:
        con = duckdb.connect()
        columns = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in COLUMNS.items())
        listed = "[" + ", ".join(literal(str(p)) for p in paths) + "]"
        started = time.monotonic()
        [(copied,)] = con.execute(
            f"COPY (FROM read_csv({listed}, header = true, columns = {{{columns}}})) "
            f"TO {literal(str(out / 'x.parquet'))} ({PARQUET_COPY_OPTIONS})"
        ).fetchall()
        print(json.dumps({"seconds": time.monotonic() - started, "rows": copied}))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def arm_basin(rows: int, files: int) -> None:
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    ensure_files(rows, files)
    project = Path(tempfile.mkdtemp(prefix="basin-bench-"))
    try:
        columns = ", ".join(f"{k}: {json.dumps(v)}" for k, v in COLUMNS.items())
        (project / "basin.yml").write_text(
            f"""
project: bench
sources:
  drops:
    kind: files
    path: {folder(rows, files)}
    entities:
      transactions:
        glob: "transactions_*.csv"
        columns: {{{columns}}}
"""
        )
        platform = Platform(load_project(project))
        import openlineage.client.event_v2  # noqa: F401
        import openlineage.client.facet_v2  # noqa: F401
        import openlineage.client.transport.file  # noqa: F401

        import basin.sources.files.extract  # noqa: F401

        time_extract(platform)
    finally:
        shutil.rmtree(project, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--arm", choices=["basin", "duckdb"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm == "basin":
        return arm_basin(args.rows, args.files)
    if args.arm == "duckdb":
        return arm_duckdb(args.rows, args.files)

    ensure_files(args.rows, args.files)
    me = [sys.executable, "-m", "bench.extract_files", "--rows", str(args.rows)]
    samples = alternate(args.pairs, ("duckdb", "basin"), [*me, "--files", str(args.files), "--arm"])
    summary = summarise(samples)
    ratio = summary["basin"]["seconds"]["median"] / summary["duckdb"]["seconds"]["median"]
    payload = {
        "benchmark": "extract-files",
        "rows": args.rows,
        "files": args.files,
        "machine": machine(),
        "target": {"throughput_ratio_min": 0.8},
        "time_ratio": ratio,
        "throughput_ratio": 1 / ratio,
        "summary": summary,
        "samples": samples_json(samples),
    }
    path = write_result(f"extract-files-{args.rows}", payload)
    print(
        f"throughput ratio (baseline/basin, medians): {1 / ratio:.2f}  "
        f"basin peak RSS {summary['basin']['peak_rss_mb_max']:.0f} MB  → {path}"
    )


if __name__ == "__main__":
    main()
