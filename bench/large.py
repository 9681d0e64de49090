"""The reference platform at a large scale: does a full run and a day complete, how long,
and at what peak memory?

    python -m bench.large --scale 100 --memory-limit 3GB

Scale 100 ≈ 100M transactions (2M customers, 10M orders, 20M e-mail events). The
sources are generated once per scale (fixed seed, ``bench/.data/reference-<scale>``)
and copied once; in that copy, whose warehouse is given DuckDB's ``memory_limit``
(spilling to disk beyond it), one child process runs the first ``basin run``, the
generator then writes one more day (≈1% new and changed rows, outside the clock), and
a second child runs the day. Each child's peak RSS is its own and its children's (the
demo REST API). No pairs and no twin: at this size one run is the measurement, and
``python -m bench run --scale 10 --only incremental`` already checks that a day's marts
equal a full rebuild. Results: ``bench/results/<date>-large-<scale>-<memory limit>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.harness import machine, run_arm, write_result


def _child(root: Path) -> None:
    from bench.platform import _platform, _step_seconds

    platform = _platform(root)
    import basin.transform.runner  # noqa: F401

    platform.store  # noqa: B018
    samples: list[tuple[float, float]] = []
    done = threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(samples, done), daemon=True)
    sampler.start()
    started = time.monotonic()
    platform.run()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    steps = _step_seconds(platform)
    platform.close()
    peaks = _where(samples, root / ".basin" / "dev" / "dbt" / "target" / "run_results.json")
    print(json.dumps({"seconds": seconds, "steps": steps, "rss_peaks": peaks}))


def _sample_rss(samples: list[tuple[float, float]], done: threading.Event) -> None:
    """This process's resident memory every half second (wall clock, MB)."""
    page = os.sysconf("SC_PAGE_SIZE")
    with open("/proc/self/statm") as statm:
        while not done.wait(0.5):
            statm.seek(0)
            resident = int(statm.read().split()[1]) * page / 2**20
            samples.append((time.time(), resident))


def _where(samples: list[tuple[float, float]], run_results: Path) -> list[dict[str, Any]]:
    """The five highest samples at least 30 s apart, each with the dbt node that was
    running then (from run_results.json's timings), so a peak names its query."""
    nodes: list[tuple[float, float, str]] = []
    if run_results.exists():
        for result in json.loads(run_results.read_text())["results"]:
            for timing in result.get("timing", []):
                if timing.get("name") == "execute" and timing.get("started_at"):
                    start, end = (
                        datetime.fromisoformat(timing[k].replace("Z", "+00:00")).timestamp()
                        for k in ("started_at", "completed_at")
                    )
                    nodes.append((start, end, result["unique_id"]))
    peaks: list[dict[str, Any]] = []
    for at, mb in sorted(samples, key=lambda s: -s[1]):
        if len(peaks) == 5:
            break
        if any(abs(at - p["at"]) < 30 for p in peaks):
            continue
        running = [n for start, end, n in nodes if start <= at <= end]
        peaks.append({"at": at, "rss_mb": round(mb), "dbt_nodes": running})
    return peaks


def _sizes(root: Path) -> dict[str, float]:
    """Gigabytes on disk: the sources, the lake, the warehouse and the published copy."""

    def gb(path: Path) -> float:
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        return round(sum(f.stat().st_size for f in files if f.is_file()) / 1e9, 2)

    state = root / ".basin" / "dev"
    return {
        "sources": gb(root / "data") + gb(root / "drops"),
        "lake": gb(state / "lake"),
        "warehouse": gb(state / "warehouse.duckdb"),
        "published": gb(state / "published"),
    }


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(
        prog="python -m bench.large", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--scale", type=float, default=100.0, help="1 ≈ 1M transactions (default 100)"
    )
    parser.add_argument(
        "--memory-limit", default="3GB", help="DuckDB memory_limit of the warehouse (default 3GB)"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return args.child

    from bench.platform import fresh_copy, generate, run_generator

    started = time.monotonic()
    generate(args.scale)
    generated = time.monotonic() - started
    root = fresh_copy(args.scale, "large")
    yml = root / "basin.yml"
    text = yml.read_text()
    plain = "warehouse: {engine: duckdb, path: warehouse.duckdb}"
    assert plain in text, "the example's DuckDB warehouse line changed: update bench/large.py"
    yml.write_text(
        text.replace(
            plain,
            f"warehouse: {{engine: duckdb, path: warehouse.duckdb, memory_limit: {args.memory_limit}}}",
        )
    )
    me = [sys.executable, "-m", "bench.large", "--child", str(root)]
    full = run_arm("full", me)
    print(f"full run {full.seconds:.1f} s, peak RSS {full.peak_rss_mb:.0f} MB", file=sys.stderr)
    after_full = _sizes(root)
    run_generator(root, args.scale, "--add-day")
    day = run_arm("day", me)
    print(f"day {day.seconds:.1f} s, peak RSS {day.peak_rss_mb:.0f} MB", file=sys.stderr)
    payload: dict[str, Any] = {
        "scale": args.scale,
        "memory_limit": args.memory_limit,
        "machine": machine(),
        "generated_seconds": round(generated, 1),
        "full": {"seconds": full.seconds, "peak_rss_mb": full.peak_rss_mb, **full.extra},
        "day": {"seconds": day.seconds, "peak_rss_mb": day.peak_rss_mb, **day.extra},
        "ratio": day.seconds / full.seconds,
        "disk_gb_after_full": after_full,
        "disk_gb_after_day": _sizes(root),
        "target": {"peak_rss_mb_max": 4096},
    }
    path = write_result(f"large-{args.scale:g}-{args.memory_limit}", payload)
    shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({k: payload[k] for k in ("full", "day", "ratio")}, indent=2, default=str))
    return path


if __name__ == "__main__":
    main()
