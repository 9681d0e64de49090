"""A self-contained, offline HTML quality report (no CDN, no scripts from elsewhere)."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from basin.metadata.models import CheckResult

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2328;max-width:1200px}
h1{font-size:1.5rem;margin:0 0 .25rem} h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
.meta{color:#59636e;margin-bottom:1.5rem} table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #d0d7de;vertical-align:top}
th{background:#f6f8fa;font-weight:600} .pass{color:#1a7f37;font-weight:600} .warn{color:#9a6700;font-weight:600}
.fail,.error{color:#cf222e;font-weight:600} .skipped{color:#59636e} code{font-size:12px}
.history span{display:inline-block;width:12px;height:18px;margin-right:2px;border-radius:2px}
.h-pass{background:#1a7f37}.h-warn{background:#d4a72c}.h-fail{background:#cf222e}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:6px;padding:.75rem 1rem;min-width:120px}
.card b{display:block;font-size:1.4rem} details pre{background:#f6f8fa;padding:.5rem;overflow:auto;max-height:240px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _sample_html(sample: str | None) -> str:
    if not sample:
        return ""
    data = json.loads(sample)
    if "error" in data:
        return f"<details><summary>sample unavailable</summary><pre>{_e(data['error'])}</pre></details>"
    head = "".join(f"<th>{_e(c)}</th>" for c in data["columns"])
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in data["rows"]
    )
    return f"<details><summary>{len(data['rows'])} failing row(s)</summary><table><tr>{head}</tr>{body}</table></details>"


def render(project: str, env: str, results: list[CheckResult], runs_shown: int = 20) -> str:
    """HTML for the newest run's results, with each table's history over recent runs."""
    by_run: dict[str, list[CheckResult]] = defaultdict(list)
    for r in results:
        by_run[r.run_id].append(r)
    runs = sorted(by_run, key=lambda rid: max(r.checked_at for r in by_run[rid]), reverse=True)
    latest = by_run[runs[0]] if runs else []
    counts = defaultdict(int)
    for r in latest:
        counts[r.status] += 1
    history: dict[str, list[str]] = defaultdict(list)
    for rid in reversed(runs[:runs_shown]):
        per_model: dict[str, str] = {}
        for r in by_run[rid]:
            model = r.model or "(project)"
            worst = per_model.get(model, "pass")
            rank = {"pass": 0, "skipped": 0, "warn": 1, "fail": 2, "error": 2}
            if rank.get(r.status, 0) > rank.get(worst, 0):
                worst = "fail" if r.status == "error" else r.status
            per_model[model] = worst
        for model, status in per_model.items():
            history[model].append(status if status in ("pass", "warn", "fail") else "pass")

    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Quality — {_e(project)} ({_e(env)})</title><style>{STYLE}</style></head><body>",
        f"<h1>Data quality — {_e(project)}</h1>",
        f"<div class='meta'>environment {_e(env)} · latest run {_e(runs[0] if runs else '—')} · "
        f"written {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}</div>",
        "<div class='cards'>",
    ]
    for status in ("pass", "warn", "fail", "error"):
        parts.append(
            f"<div class='card'><b class='{status}'>{counts.get(status, 0)}</b>{status}</div>"
        )
    parts.append(
        "</div><h2>History per table</h2><table><tr><th>table</th><th>last runs (oldest → newest)</th></tr>"
    )
    for model in sorted(history):
        marks = "".join(f"<span class='h-{s}' title='{s}'></span>" for s in history[model])
        parts.append(f"<tr><td>{_e(model)}</td><td class='history'>{marks}</td></tr>")
    parts.append("</table><h2>Checks of the latest run</h2>")
    parts.append(
        "<table><tr><th>table</th><th>check</th><th>column</th><th>severity</th><th>status</th>"
        "<th>failing</th><th>details</th></tr>"
    )
    order = {"fail": 0, "error": 0, "warn": 1, "pass": 2, "skipped": 3}
    for r in sorted(latest, key=lambda r: (order.get(r.status, 4), r.model or "", r.name)):
        parts.append(
            f"<tr><td>{_e(r.model)}</td><td><code>{_e(r.name)}</code></td><td>{_e(r.column_name)}</td>"
            f"<td>{_e(r.severity)}</td><td class='{_e(r.status)}'>{_e(r.status)}</td><td>{_e(r.failures)}</td>"
            f"<td>{_e(r.message if r.status != 'pass' else '')}{_sample_html(r.sample)}</td></tr>"
        )
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write_report(path: Path, project: str, env: str, results: list[CheckResult]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(project, env, results), encoding="utf-8")
    return path
