"""Extraction benchmark: a PostgreSQL table → the lake, Basin vs a binary COPY.

    python -m bench.extract_postgres --rows 1000000 --pairs 3 [--shape wide]

``--shape narrow`` (default): 8 columns, one of them numeric. ``--shape wide``: 16
columns, nine of them numeric — decimals cost the most to decode (a decimal-heavy
table ran at 0.75× of the baseline where the narrow one was at ≥ 1.0×). ``--shape
numeric``: the wide table with plain ``numeric`` columns (no precision or scale).

Baseline: psycopg ``COPY (SELECT * FROM t) TO STDOUT (FORMAT binary)`` read into
nothing — the fastest a client can receive the rows. Basin: ``Platform.extract`` of
the same table (full mode) into a fresh lake: DuckDB's postgres scanner writing
zstd Parquet, checksum, manifest and metadata store updates included; module imports
and opening the metadata store are outside the clock in both arms (``wall`` in the
samples includes them). Throughput ratio = baseline seconds /
Basin seconds (≥ 1.0 means Basin is at least as fast as receiving the rows).

A third arm, ``scanner``, is the floor under Basin's engine: one DuckDB connection
with the extension loaded and the database attached before the clock starts (the
load's time is reported as ``load_seconds``), then only the ``COPY`` to a Parquet
file with Basin's options. Basin − scanner is what Basin adds (extension load, batch
bookkeeping, checksum, manifest, metadata store, lineage); scanner − baseline is the
engine itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import alternate, machine, samples_json, summarise, write_result

DSN = os.environ.get("BASIN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = "basin_bench"


SHAPES = {
    "narrow": """
        g::bigint as transaction_id,
        (random() * 100000)::int as account_id,
        round((random() * 10000 - 2000)::numeric, 2)::numeric(12, 2) as amount,
        (array['EUR', 'USD', 'GBP', 'CHF'])[1 + (g % 4)] as currency,
        (array['pending', 'booked', 'reversed'])[1 + (g % 3)] as status,
        timestamptz '2026-01-01' + (g * interval '1 second') as created_at,
        timestamptz '2026-01-01' + (g * interval '1 second') + interval '5 minutes' as updated_at,
        md5(g::text) as memo
    """,
    "wide": """
        g::bigint as position_id,
        (random() * 100000)::int as account_id,
        (random() * 5000)::int as instrument_id,
        round((random() * 1000000)::numeric, 4)::numeric(18, 4) as quantity,
        round((random() * 5000)::numeric, 4)::numeric(18, 4) as price,
        round((random() * 100000000)::numeric, 2)::numeric(18, 2) as market_value,
        round((random() * 100000000)::numeric, 2)::numeric(18, 2) as book_value,
        round((random() * 1000000 - 500000)::numeric, 2)::numeric(18, 2) as unrealised_pnl,
        round((random() * 100000 - 50000)::numeric, 2)::numeric(18, 2) as realised_pnl,
        round((random() * 10000)::numeric, 2)::numeric(12, 2) as accrued_interest,
        round((random() * 2)::numeric, 6)::numeric(10, 6) as fx_rate,
        round((random())::numeric, 8)::numeric(12, 8) as weight,
        (array['EUR', 'USD', 'GBP', 'CHF'])[1 + (g % 4)] as currency,
        date '2026-01-01' + (g % 365) as valuation_date,
        timestamptz '2026-01-01' + (g * interval '1 second') as updated_at,
        (g % 7 = 0) as is_hedged
    """,
}
# The same table with every decimal a plain `numeric` (no precision or scale), as
# tables created by ORMs and ad-hoc DDL often are.
SHAPES["numeric"] = re.sub(r"::numeric\(\d+, \d+\)", "::numeric", SHAPES["wide"])
"""The columns of each shape's table, generated from ``g`` (the row number) and a seed."""


def table_name(rows: int, shape: str = "narrow") -> str:
    return f"transactions_{rows}" if shape == "narrow" else f"positions_{shape}_{rows}"


def ensure_table(rows: int, shape: str = "narrow") -> None:
    """Generate the table from a fixed seed once; reused while it has the right size."""
    import psycopg

    name = table_name(rows, shape)
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"create schema if not exists {SCHEMA}")
        exists = conn.execute(
            "select count(*) from information_schema.tables where table_schema = %s and table_name = %s",
            (SCHEMA, name),
        ).fetchone()
        if exists and exists[0]:
            return
        started = time.monotonic()
        conn.execute("select setseed(0.42)")
        conn.execute(
            f"""
            create table {SCHEMA}.{name} as
            select {SHAPES[shape]}
            from generate_series(1, {rows}) as g
            """
        )
        key = "transaction_id" if shape == "narrow" else "position_id"
        conn.execute(f"alter table {SCHEMA}.{name} add primary key ({key})")
        conn.execute(f"analyze {SCHEMA}.{name}")
        print(f"generated {rows:,} rows in {time.monotonic() - started:.1f} s", file=sys.stderr)


def arm_copy_binary(table: str, rows: int) -> None:
    import psycopg

    started = time.monotonic()
    n_bytes = 0
    with psycopg.connect(DSN) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY (SELECT * FROM {SCHEMA}.{table}) TO STDOUT (FORMAT binary)") as copy:
            for block in copy:
                n_bytes += len(block)
    print(json.dumps({"seconds": time.monotonic() - started, "rows": rows, "bytes": n_bytes}))


def arm_scanner(table: str) -> None:
    import duckdb

    from basin.common.duckdb import harden, load_extension
    from basin.common.sql import literal
    from basin.lake import PARQUET_COPY_OPTIONS

    folder = Path(tempfile.mkdtemp(prefix="basin-bench-"))
    try:
        con = duckdb.connect()
        harden(con)
        con.execute("SET preserve_insertion_order = false")  # as Basin's scan engine
        started = time.monotonic()
        load_extension(con, "postgres_scanner")
        loaded = time.monotonic() - started
        con.execute(f"ATTACH {literal(DSN)} AS src (TYPE postgres, READ_ONLY)")
        target = folder / "part-00000.parquet"
        started = time.monotonic()
        [(copied,)] = con.execute(
            f"COPY (SELECT * FROM src.{SCHEMA}.{table}) "
            f"TO {literal(str(target))} ({PARQUET_COPY_OPTIONS})"
        ).fetchall()
        seconds = time.monotonic() - started
        print(json.dumps({"seconds": seconds, "rows": copied, "load_seconds": loaded}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def arm_basin(table: str) -> None:
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    folder = Path(tempfile.mkdtemp(prefix="basin-bench-"))
    try:
        (folder / "basin.yml").write_text(
            f"""
project: bench
sources:
  fin:
    kind: postgres
    dsn: "{DSN}"
    schema: {SCHEMA}
    tables:
      transactions: {{table: {table}}}
"""
        )
        platform = Platform(load_project(folder))
        # Outside the clock, as the baseline's `import psycopg` is: module imports and
        # opening the metadata store (one-time costs of a process, ~0.9 s together:
        # the OpenLineage client alone imports in 0.4 s, on the lineage thread).
        import openlineage.client.event_v2  # noqa: F401
        import openlineage.client.facet_v2  # noqa: F401
        import openlineage.client.transport.file  # noqa: F401

        import basin.sources.postgres.extract  # noqa: F401

        platform.store  # noqa: B018
        platform.lake  # noqa: B018
        started = time.monotonic()
        [result] = platform.extract()
        seconds = time.monotonic() - started
        lake_bytes = sum(p.stat().st_size for p in (folder / ".basin").rglob("*.parquet"))
        platform.close()
        print(json.dumps({"seconds": seconds, "rows": result.rows, "parquet_bytes": lake_bytes}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="narrow")
    parser.add_argument(
        "--arm", choices=["basin", "copy-binary", "scanner"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    table = table_name(args.rows, args.shape)
    if args.arm == "basin":
        return arm_basin(table)
    if args.arm == "copy-binary":
        return arm_copy_binary(table, args.rows)
    if args.arm == "scanner":
        return arm_scanner(table)

    ensure_table(args.rows, args.shape)
    me = [sys.executable, "-m", "bench.extract_postgres", "--rows", str(args.rows)]
    me += ["--shape", args.shape, "--arm"]
    samples = alternate(args.pairs, ("copy-binary", "basin", "scanner"), me)
    summary = summarise(samples)
    ratio = summary["copy-binary"]["seconds"]["median"] / summary["basin"]["seconds"]["median"]
    wide = args.shape != "narrow"
    payload = {
        "benchmark": "extract-postgres",
        "rows": args.rows,
        "shape": args.shape,
        "machine": machine(),
        "target": {"throughput_ratio_min": 0.9 if wide else 1.0, "peak_rss_mb_max": 512},
        "throughput_ratio": ratio,
        "scanner_ratio": summary["copy-binary"]["seconds"]["median"]
        / summary["scanner"]["seconds"]["median"],
        "scanner_load_seconds_median": statistics.median(
            s.extra["load_seconds"] for s in samples if s.arm == "scanner"
        ),
        "summary": summary,
        "samples": samples_json(samples),
    }
    name = f"extract-postgres-{args.shape}-{args.rows}" if wide else f"extract-postgres-{args.rows}"
    path = write_result(name, payload)
    print(
        f"throughput ratio (baseline/basin, medians): {ratio:.2f}  "
        f"(baseline/scanner COPY alone: {payload['scanner_ratio']:.2f})  "
        f"basin peak RSS {summary['basin']['peak_rss_mb_max']:.0f} MB  → {path}"
    )


if __name__ == "__main__":
    main()
