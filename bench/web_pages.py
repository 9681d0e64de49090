"""Web UI page times with a long history: 10,000 runs in the metadata store.

    python -m bench.web_pages --runs 10000 --requests 20

Builds (from a seed) a `basin init` project whose SQLite metadata store holds
``--runs`` runs, each with 5 steps (the transform's detail naming 40 dbt nodes),
15 extracted batches and 85 check results (1 in 50 failing, with a sample), plus a
catalog of 150 datasets with column lineage and 300 incidents with deliveries. Then
starts `basin web` on 127.0.0.1 and times each page over HTTP, ``--requests`` times
after one warm-up: the server's whole answer (query, render, transfer), not the
browser's painting. Target (BENCHMARKS.md): every page < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import machine, write_result

ENTITIES = [f"src{i // 5}.entity{i}" for i in range(15)]
MODELS = [f"model.ref.model_{i:02d}" for i in range(40)]
CHECKS = [f"test.ref.check_{i:02d}" for i in range(85)]


def build_store(url: str, runs: int, seed: int = 7) -> dict[str, str]:
    """Fill the store; return a run id, a check id and a dataset key to time."""
    from sqlalchemy import insert

    from basin.metadata import models as m
    from basin.metadata.store import open_store

    rng = random.Random(seed)
    store = open_store(url, env="dev")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    run_rows, step_rows, batch_rows, check_rows = [], [], [], []
    for i in range(runs):
        run_id = f"2026{i:08d}-bench"
        t0 = start + timedelta(hours=i)
        failed = rng.random() < 0.05
        run_rows.append(
            dict(
                run_id=run_id,
                env="dev",
                command="run",
                status="failed" if failed else "success",
                started_at=t0,
                ended_at=t0 + timedelta(seconds=95),
                error="boom" if failed else None,
                basin_version="bench",
                host="bench",
                pid=1,
            )
        )
        at = t0
        for name, seconds in (
            ("extract", 20),
            ("load", 10),
            ("transform", 50),
            ("publish", 5),
            ("monitor", 2),
        ):
            detail = None
            if name == "transform":
                detail = json.dumps(
                    {
                        "nodes": {"success": 40},
                        "select": None,
                        "models": [
                            [u, "success", (at + timedelta(seconds=k)).isoformat(), 1.0, 1000]
                            for k, u in enumerate(MODELS)
                        ],
                    }
                )
            step_rows.append(
                dict(
                    run_id=run_id,
                    name=name,
                    status="success",
                    started_at=at,
                    ended_at=at + timedelta(seconds=seconds),
                    rows=1000,
                    detail=detail,
                )
            )
            at += timedelta(seconds=seconds)
        for k, entity in enumerate(ENTITIES):
            source, name = entity.split(".")
            batch_rows.append(
                dict(
                    batch_id=f"{run_id}-{k}",
                    env="dev",
                    source=source,
                    entity=name,
                    run_id=run_id,
                    status="complete",
                    path=f"/lake/{run_id}/{k}",
                    row_count=1000,
                    quarantined_rows=0,
                    created_at=t0,
                    completed_at=t0 + timedelta(seconds=k + 1),
                )
            )
        for u in CHECKS:
            bad = rng.random() < 0.02
            check_rows.append(
                dict(
                    env="dev",
                    run_id=run_id,
                    unique_id=u,
                    name=u.rsplit(".", 1)[-1],
                    model="model_01",
                    column_name="id",
                    severity="error",
                    status="fail" if bad else "pass",
                    failures=3 if bad else 0,
                    message=None,
                    sample=json.dumps({"columns": ["id"], "rows": [[1], [2], [3]]})
                    if bad
                    else None,
                    checked_at=t0 + timedelta(seconds=80),
                )
            )
    datasets, edges = [], []
    keys = (
        [f"raw.src__t{i}" for i in range(50)]
        + [f"staging.stg_{i}" for i in range(50)]
        + [f"marts.mart_{i}" for i in range(50)]
    )
    for n, key in enumerate(keys):
        datasets.append(
            dict(
                key=key,
                env="dev",
                kind="model",
                namespace="duckdb://bench",
                name=key,
                columns=json.dumps([[f"col_{c}", "integer", f"column {c}"] for c in range(20)]),
                description=f"dataset {n}",
                rows=1000,
                updated_at=start,
                run_id=run_rows[-1]["run_id"],
            )
        )
        if n >= 50:
            up = keys[n - 50]
            edges.append(
                dict(
                    env="dev",
                    dataset=key,
                    column_name=None,
                    upstream_dataset=up,
                    upstream_column=None,
                    step="transform",
                )
            )
            edges.extend(
                dict(
                    env="dev",
                    dataset=key,
                    column_name=f"col_{c}",
                    upstream_dataset=up,
                    upstream_column=f"col_{c}",
                    step="transform",
                )
                for c in range(20)
            )
    incidents = [
        dict(
            env="dev",
            kind="volume_anomaly",
            severity="warn",
            source="src0",
            entity="entity0",
            message=f"incident {i}",
            opened_at=start + timedelta(hours=i * 30),
            last_seen_at=start + timedelta(hours=i * 30),
            occurrences=1,
            resolved_at=start + timedelta(hours=i * 30 + 1),
            fingerprint=f"{i:032d}",
        )
        for i in range(300)
    ]
    with store.engine.begin() as conn:
        for table, rows in (
            (m.Run, run_rows),
            (m.Step, step_rows),
            (m.Batch, batch_rows),
            (m.CheckResult, check_rows),
            (m.CatalogDataset, datasets),
            (m.LineageEdge, edges),
            (m.Incident, incidents),
        ):
            for chunk in range(0, len(rows), 20_000):
                conn.execute(insert(table), rows[chunk : chunk + 20_000])
    store.record_publication(
        run_rows[-1]["run_id"],
        "/published/warehouse.duckdb",
        {f"marts.mart_{i}": 1000 for i in range(50)},
    )
    store.close()
    return {
        "run": run_rows[-1]["run_id"],
        "old_run": run_rows[0]["run_id"],
        "check": CHECKS[3],
        "dataset": keys[120],
    }


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    import httpx

    from basin.scaffold import create_project

    folder = Path(tempfile.mkdtemp(prefix="basin-bench-web-"))
    root = folder / "proj"
    create_project(root, name="proj")
    db = root / ".basin" / "dev" / "metadata.db"
    started = time.monotonic()
    ids = build_store(f"sqlite:///{db}", args.runs)
    build_seconds = time.monotonic() - started
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "basin", "--project", str(root), "web", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    pages = {
        "overview": "/",
        "runs": "/runs",
        "runs, last page": f"/runs?page={-(-args.runs // 50)}",
        "runs, failed": "/runs?status=failed",
        "run": f"/runs/{ids['run']}",
        "oldest run": f"/runs/{ids['old_run']}",
        "tables": "/tables",
        "quality": "/quality",
        "check history": f"/quality/{ids['check']}",
        "lineage": "/lineage",
        "lineage api": "/api/lineage",
        "dataset": f"/datasets/{ids['dataset']}",
        "catalog search": "/catalog?q=col_7",
        "incidents": "/incidents",
    }
    results: dict[str, dict[str, float]] = {}
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            give_up = time.monotonic() + 120
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > give_up:
                    raise SystemExit("basin web did not start")
                time.sleep(0.3)
            for name, path in pages.items():
                assert client.get(path).status_code == 200, path  # warm-up
                times = []
                for _ in range(args.requests):
                    t = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                times.sort()
                results[name] = {
                    "median_ms": round(statistics.median(times), 1),
                    "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
                    "max_ms": round(times[-1], 1),
                    "bytes": len(response.content),
                }
                print(
                    f"{name:16} median {results[name]['median_ms']:7.1f} ms  p95 {results[name]['p95_ms']:7.1f} ms"
                )
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    slowest = max(results, key=lambda k: results[k]["p95_ms"])
    payload = {
        "benchmark": "web-pages",
        "runs": args.runs,
        "requests_per_page": args.requests,
        "store_rows": {
            "runs": args.runs,
            "steps": args.runs * 5,
            "batches": args.runs * 15,
            "check_results": args.runs * 85,
        },
        "store_build_seconds": round(build_seconds, 1),
        "machine": machine(),
        "target": {"page_ms_max": 300},
        "pages": results,
        "slowest": {"page": slowest, **results[slowest]},
    }
    path = write_result(f"web-pages-{args.runs}", payload)
    print(f"slowest: {slowest} p95 {results[slowest]['p95_ms']} ms → {path}")
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
