"""Tables for ``basin status`` and ``basin doctor``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from basin.core.doctor import Check

STATUS_STYLE = {"success": "green", "failed": "red", "running": "yellow", "skipped": "dim"}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _duration(start: datetime | None, end: datetime | None) -> str:
    if not start or not end:
        return "—"
    return f"{(end - start).total_seconds():.1f} s"


def _status(value: str) -> str:
    return f"[{STATUS_STYLE.get(value, 'white')}]{value}[/]"


def render_status(console: Console, status: dict[str, Any]) -> None:
    runs = status["runs"]
    if not runs:
        console.print("no runs yet: start with [bold]basin run[/]")
    else:
        table = Table(title=f"latest runs ({status['env']})", title_justify="left")
        for col in ("run", "command", "status", "started (UTC)", "duration"):
            table.add_column(col, no_wrap=True)
        for entry in runs:
            r = entry["run"]
            table.add_row(
                r.run_id,
                r.command,
                _status(r.status),
                _when(r.started_at),
                _duration(r.started_at, r.ended_at),
            )
        console.print(table)

        latest = runs[0]
        steps = Table(title=f"steps of {latest['run'].run_id}", title_justify="left")
        for col in ("step", "status", "rows", "duration", "error"):
            steps.add_column(col, overflow="fold")
        for st in latest["steps"]:
            steps.add_row(
                st.name,
                _status(st.status),
                "—" if st.rows is None else f"{st.rows:,}",
                _duration(st.started_at, st.ended_at),
                escape((st.error or "").splitlines()[0]) if st.error else "",
            )
        console.print(steps)

    incidents = status.get("incidents") or []
    if incidents:
        table = Table(
            title=f"open incidents ({len(incidents)})", title_justify="left", title_style="red"
        )
        for col in ("id", "kind", "entity", "since (UTC)", "seen", "what"):
            table.add_column(col, overflow="fold")
        for inc in incidents:
            entity = f"{inc.source}.{inc.entity}" if inc.source else "—"
            table.add_row(
                str(inc.id),
                inc.kind,
                entity,
                _when(inc.opened_at),
                f"{inc.occurrences}×",
                escape(inc.message),
            )
        console.print(table)

    pub = status["publication"]
    if pub is None:
        console.print("published: [yellow]nothing yet[/]")
        return
    console.print(f"published by run [bold]{pub.run_id}[/] at {_when(pub.published_at)} UTC")
    console.print(f"  {pub.location}", soft_wrap=True)
    table = Table()
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in (status["published_tables"] or {}).items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


def render_doctor(console: Console, checks: list[Check]) -> None:
    marks = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}
    for c in checks:
        console.print(f"{marks[c.status]} {escape(c.name)}: {escape(c.detail)}")
        if c.fix and c.status != "ok":
            console.print(f"    [yellow]fix[/]: {escape(c.fix)}")
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if failed:
        console.print(f"[red]{failed} problem(s)[/], {warned} warning(s)")
    else:
        console.print(f"[green]all good[/] ({warned} warning(s))")
