"""Turn a dbt invocation's test results into check records with failing-row samples."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from basin.transform.runner import DbtRun

Sampler = Callable[[str, int], tuple[list[str], list[tuple[Any, ...]]]]


def _test_nodes(target_dir: Path) -> dict[str, dict[str, Any]]:
    manifest = target_dir / "manifest.json"
    if not manifest.exists():
        return {}
    nodes = json.loads(manifest.read_text(encoding="utf-8")).get("nodes", {})
    return {uid: n for uid, n in nodes.items() if n.get("resource_type") in ("test", "unit_test")}


def _model_of(node: dict[str, Any], all_nodes: dict[str, Any]) -> str | None:
    attached = node.get("attached_node")
    if attached:
        return str(attached).split(".")[-1]
    depends = [
        d
        for d in node.get("depends_on", {}).get("nodes", [])
        if d.startswith(("model.", "snapshot.", "seed."))
    ]
    return depends[0].split(".")[-1] if len(depends) == 1 else None


def collect(
    run: DbtRun,
    target_dir: Path,
    sampler: Sampler | None,
    sample_rows: int,
    sample_limits: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """One record per test node of ``run``; failing ones carry up to ``sample_rows`` rows
    (``sample_limits`` raises that for named tests)."""
    tests = _test_nodes(target_dir)
    out = []
    for n in run.nodes:
        if n.resource_type not in ("test", "unit_test") and not n.unique_id.startswith(
            ("test.", "unit_test.")
        ):
            continue
        node = tests.get(n.unique_id, {})
        name = node.get("name") or n.unique_id.split(".")[2]
        limit = max(sample_rows, (sample_limits or {}).get(name, 0))
        status = n.status
        sample = None
        if status in ("fail", "warn") and sampler is not None and limit and n.compiled_code:
            try:
                columns, rows = sampler(n.compiled_code, limit)
                sample = json.dumps(
                    {"columns": columns, "rows": [list(r) for r in rows]}, default=str
                )
            except Exception as exc:  # noqa: BLE001 - a sample is best effort, the result is not
                sample = json.dumps(
                    {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
                )
        out.append(
            {
                "unique_id": n.unique_id,
                "name": name,
                "model": _model_of(node, tests),
                "column_name": node.get("column_name"),
                "severity": str(node.get("config", {}).get("severity", "error")).lower(),
                "status": status,
                "failures": n.failures,
                "message": n.message,
                "sample": sample,
            }
        )
    return out


def failures(results: list[Any], test: str) -> list[Any]:
    """The newest results of the checks named ``test`` (a test's name, or a part of it
    or of its unique id) that did not pass, newest run first."""
    wanted = test.lower()
    matching = [
        r for r in results if wanted in r.name.lower() or wanted in (r.unique_id or "").lower()
    ]
    if not matching:
        return []
    newest = matching[0].run_id  # results come newest first
    return [r for r in matching if r.run_id == newest and r.status not in ("pass", "skipped")]
