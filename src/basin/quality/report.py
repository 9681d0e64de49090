"""A self-contained, offline HTML quality report (no CDN, no scripts from elsewhere).

The page is a Jinja template (``templates/report.html.j2``) with autoescaping: every
value from the store (model names, messages, sampled rows) is escaped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from basin.metadata.models import CheckResult

TEMPLATES = Path(__file__).parent / "templates"
RANK = {"pass": 0, "skipped": 0, "warn": 1, "fail": 2, "error": 2}
ORDER = {"fail": 0, "error": 0, "warn": 1, "pass": 2, "skipped": 3}


def render(project: str, env: str, results: list[CheckResult], runs_shown: int = 20) -> str:
    """HTML for the newest run's results, with each table's history over recent runs."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    by_run: dict[str, list[CheckResult]] = defaultdict(list)
    for r in results:
        by_run[r.run_id].append(r)
    runs = sorted(by_run, key=lambda rid: max(r.checked_at for r in by_run[rid]), reverse=True)
    latest = by_run[runs[0]] if runs else []
    counts: dict[str, int] = defaultdict(int)
    for r in latest:
        counts[r.status] += 1
    history: dict[str, list[str]] = defaultdict(list)
    for rid in reversed(runs[:runs_shown]):
        per_model: dict[str, str] = {}
        for r in by_run[rid]:
            model = r.model or "(project)"
            worst = per_model.get(model, "pass")
            if RANK.get(r.status, 0) > RANK.get(worst, 0):
                worst = "fail" if r.status == "error" else r.status
            per_model[model] = worst
        for model, status in per_model.items():
            history[model].append(status if status in ("pass", "warn", "fail") else "pass")
    checks = sorted(latest, key=lambda r: (ORDER.get(r.status, 4), r.model or "", r.name))
    env_ = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    return env_.get_template("report.html.j2").render(
        project=project,
        env=env,
        latest_run=runs[0] if runs else None,
        written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        counts=counts,
        history=sorted(history.items()),
        checks=checks,
        samples=[_sample(r.sample) for r in checks],
    )


def _sample(sample: str | None) -> dict[str, Any] | None:
    return json.loads(sample) if sample else None


def write_report(path: Path, project: str, env: str, results: list[CheckResult]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(project, env, results), encoding="utf-8")
    return path
