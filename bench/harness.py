"""Shared benchmark plumbing: run arms in child processes, alternate, summarise.

Every arm runs in its own process so that its peak RSS is its own (``os.wait4``
returns the child's rusage; keep the parent small, as a child's peak includes the
parent's pages at fork time). Arms alternate A B A B … and results are quoted as
medians and as the ratio of medians, with the machine's load next to them: absolute
times on these shared 2-core machines move by 2× between runs, ratios hold.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(os.environ.get("BASIN_BENCH_RESULTS", Path(__file__).parent / "results"))


@dataclass
class Sample:
    arm: str
    seconds: float
    """Time of the measured work, taken inside the child (no interpreter start-up)."""
    wall: float
    """Whole child process, start-up included."""
    peak_rss_mb: float
    rows: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _report(arm: str, out: str) -> dict[str, Any]:
    """The arm's JSON report: its last line with ``"seconds"`` (libraries such as
    Airflow may print after it)."""
    for line in reversed(out.strip().splitlines()):
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict) and "seconds" in report:
            return report
    raise RuntimeError(f"arm {arm} printed no JSON report:\n{out[-2000:]}")


def run_arm(arm: str, argv: list[str], env: dict[str, str] | None = None) -> Sample:
    """Run ``argv``; it must print a JSON line ``{"seconds": s, "rows": n, ...}``."""
    # The previous arm's files must not be written back while this one is on the clock.
    os.sync()
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"arm {arm} failed ({proc.returncode}):\n{out}\n{err}")
    report = _report(arm, out)
    return Sample(
        arm=arm,
        seconds=float(report.pop("seconds")),
        wall=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        rows=report.pop("rows", None),
        extra=report,
    )


def alternate(pairs: int, arms: tuple[str, ...], argv: list[str], label: str = "") -> list[Sample]:
    """Run the arms in turn (A B A B …, or A B C A B C …) ``pairs`` times;
    ``argv + [arm]`` runs one."""
    samples = []
    for i in range(pairs):
        for arm in arms:
            sample = run_arm(arm, [*argv, arm])
            samples.append(sample)
            print(
                f"{label}pair {i + 1} {arm:22s} {sample.seconds:7.2f} s {sample.peak_rss_mb:6.0f} MB",
                file=sys.stderr,
            )
    return samples


def summarise(samples: list[Sample]) -> dict[str, Any]:
    by_arm: dict[str, list[Sample]] = {}
    for s in samples:
        by_arm.setdefault(s.arm, []).append(s)
    out = {}
    for arm, items in by_arm.items():
        secs = [s.seconds for s in items]
        out[arm] = {
            "n": len(items),
            "seconds": {"min": min(secs), "median": statistics.median(secs), "max": max(secs)},
            "wall_median": statistics.median(s.wall for s in items),
            "peak_rss_mb_max": max(s.peak_rss_mb for s in items),
            "rows": items[0].rows,
        }
    return out


def machine() -> dict[str, Any]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "versions": {d: version(d) for d in ("basin", "duckdb", "dbt-core", "psycopg", "pyarrow")},
    }


def result_paths(name: str) -> list[Path]:
    """Today's result files named ``name``, oldest first: ``<date>-<name>.json``, then
    ``<date>b-<name>.json``, ``<date>c-…`` (the order ``sorted()`` also gives)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    found = []
    for letter in ["", *"bcdefghijklmnopqrstuvwxyz"]:
        path = RESULTS / f"{stamp}{letter}-{name}.json"
        if not path.exists():
            return [*found, path]  # the last one is free
        found.append(path)
    raise RuntimeError(f"26 results named {name} today in {RESULTS}: move some away")


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write a result under a name no earlier result has: a second run today is
    ``<date>b-<name>.json``, never a replacement of a committed measurement."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = result_paths(name)[-1]
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def samples_json(samples: list[Sample]) -> list[dict[str, Any]]:
    return [asdict(s) for s in samples]


def time_extract(platform: Any) -> None:
    """An extraction arm's clock: ``platform.extract()`` of its one entity, the store
    and the lake opened before (one-time costs of a process, outside the clock in
    every arm), then the arm's JSON line printed."""
    platform.store  # noqa: B018
    platform.lake  # noqa: B018
    started = time.monotonic()
    [result] = platform.extract()
    seconds = time.monotonic() - started
    platform.close()
    print(json.dumps({"seconds": seconds, "rows": result.rows}))
