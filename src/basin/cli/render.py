"""Tables for ``basin status`` and ``basin doctor``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from basin.pipeline.doctor import Check

STATUS_STYLE = {
    "success": "green",
    "failed": "red",
    "running": "yellow",
    "skipped": "dim",
    "ok": "green",
    "breach": "red",
    "unknown": "dim",
    "warn": "yellow",
}


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
        table.add_column("run", no_wrap=True)  # copied into the next command: never cut
        for col in ("command", "status", "started (UTC)", "duration"):
            table.add_column(col, overflow="fold")
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
                escape(st.error or ""),  # whole: it names the batch, file or test to fix
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


def render_lineage(console: Console, root: Any, *, upstream: bool) -> None:
    """A lineage tree: each node ``dataset.column`` with the step that links it."""
    from rich.tree import Tree

    def label(node: Any) -> str:
        name = f"[bold]{node.dataset}[/]" + (f".[cyan]{node.column}[/]" if node.column else "")
        name += f"  [dim]({node.step})[/]" if node.step else ""
        return name + ("  [dim]… shown above[/]" if node.repeated else "")

    def add(tree: Any, node: Any) -> None:
        for child in node.children:
            add(tree.add(label(child)), child)

    top = Tree(label(root) + ("  [dim]← upstream[/]" if upstream else "  [dim]→ downstream[/]"))
    add(top, root)
    console.print(top)
    if not root.children:
        console.print(
            "  [dim]nothing recorded " + ("upstream" if upstream else "downstream") + "[/]"
        )


def render_catalog(console: Console, datasets: list[Any], text: str) -> None:
    if not datasets:
        console.print(
            f"no dataset matches {escape(text)!r}"
            if text
            else "the catalog is empty: run `basin run` first"
        )
        return
    table = Table(show_edge=False, header_style="bold")
    # Names are what users copy into the next command: never shortened.
    table.add_column("dataset", no_wrap=True, min_width=max(len(d.key) for d in datasets))
    for col in ("kind", "rows", "owner"):
        table.add_column(col, no_wrap=True)
    table.add_column("tags", overflow="fold")
    table.add_column("updated", no_wrap=True)
    for d in datasets:
        table.add_row(
            escape(d.key),
            d.kind,
            "" if d.rows is None else f"{d.rows:,}",
            escape(d.owner or ""),
            escape(", ".join(json.loads(d.tags or "[]"))),
            d.updated_at.strftime("%m-%d %H:%M"),
        )
    console.print(table)


def render_dataset(console: Console, info: dict[str, Any]) -> None:
    d = info["dataset"]
    console.print(f"[bold]{escape(info['key'])}[/]" + (f"  [dim]{d.kind}[/]" if d else ""))
    if d is not None:
        if d.description:
            console.print(f"  {escape(d.description)}")
        console.print(f"  [dim]OpenLineage[/] {escape(d.namespace)} {escape(d.name)}")
        for label, value in (
            ("owner", d.owner),
            ("tags", ", ".join(info["tags"])),
            ("rows", None if d.rows is None else f"{d.rows:,}"),
            ("last written", d.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC") + f" (run {d.run_id})"),
        ):
            if value:
                console.print(f"  [dim]{label}[/] {escape(str(value))}")
    if info["columns"]:
        table = Table(show_edge=False, header_style="bold")
        for col in ("column", "type", "description"):
            table.add_column(col)
        for name, dtype, description in info["columns"]:
            table.add_row(escape(name), escape(dtype or ""), escape(description or ""))
        console.print(table)
    console.print("  [dim]upstream[/]   " + (", ".join(info["upstream"]) or "—"))
    console.print("  [dim]downstream[/] " + (", ".join(info["downstream"]) or "—"))


def render_failures(console: Console, test: str, results: list[Any]) -> None:
    """Each failing check: what, where, the message and the sampled failing rows."""
    import json

    if not results:
        console.print(
            f"no failing check matches {escape(test)!r} in the last run that ran it; "
            "`basin check --report` lists every check"
        )
        return
    for r in results:
        where = f"{r.model}.{r.column_name}" if r.column_name else (r.model or "")
        console.print(
            f"[bold]{escape(r.name)}[/] on {escape(where)}: [red]{r.status}[/] "
            f"({r.failures if r.failures is not None else '?'} failing row(s), run {r.run_id}, "
            f"severity {r.severity})"
        )
        if r.message:
            console.print(f"  {escape(r.message)}", soft_wrap=True)
        sample = json.loads(r.sample) if r.sample else None
        if not sample:
            continue
        if "error" in sample:
            console.print(f"  [yellow]sample unavailable[/]: {escape(str(sample['error']))}")
            continue
        table = Table(title="failing rows (sample)", title_justify="left")
        for column in sample["columns"]:
            table.add_column(escape(str(column)), overflow="fold")
        for row in sample["rows"]:
            table.add_row(*("∅" if v is None else escape(str(v)) for v in row))
        console.print(table)


def render_quarantine(console: Console, items: list[Any]) -> None:
    """One line per quarantined batch."""
    if not items:
        console.print("nothing is quarantined")
        return
    table = Table(show_edge=False, header_style="bold")
    table.add_column("entity", no_wrap=True)
    table.add_column("batch", no_wrap=True)
    for col in ("rows", "files kept whole", "why"):
        table.add_column(col, overflow="fold")
    for q in items:
        why = escape(q.contract or ", ".join(f"{k} ({n})" for k, n in q.reasons.items()))
        if q.released_to:
            why += f"; [green]released[/] into {q.released_to}"
        table.add_row(
            f"{q.source}.{q.entity}",
            q.batch_id,
            str(q.rows) if q.rows else ("whole batch" if q.contract else "—"),
            ", ".join(q.files) or "—",
            why,
        )
    console.print(table)
    console.print(
        "[dim]`basin quarantine show <batch>` lists the rows and reasons; after fixing the "
        "settings, `basin quarantine release <batch>` reads them again[/]"
    )


def render_quarantined_rows(
    console: Console, item: Any, found: tuple[list[str], list[Any]]
) -> None:
    console.print(f"[bold]{item.source}.{item.entity}[/] batch {item.batch_id}: {item.path}")
    if item.contract:
        console.print(f"  [red]contract[/]: {escape(item.contract)}")
    for name in item.files:
        console.print(f"  kept whole: {escape(name)} (as original__{escape(name)})")
    columns, rows = found
    if not rows:
        return
    table = Table(header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else escape(str(v)) for v in row))
    console.print(table)


def render_findings(console: Console, findings: list[Any]) -> None:
    """One line per monitor and target."""
    table = Table(show_edge=False, header_style="bold")
    table.add_column("monitor", no_wrap=True)
    table.add_column("target", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("what", overflow="fold")
    for f in findings:
        table.add_row(f.monitor, f.target, _status(f.status), escape(f.message))
    console.print(table)
    breaches = sum(1 for f in findings if f.status == "breach")
    console.print(
        f"[red]{breaches} breach(es)[/]: `basin incidents list` shows the incidents"
        if breaches
        else "[green]no breach[/]"
    )


def render_incidents(console: Console, incidents: list[Any], resolved: bool) -> None:
    if not incidents:
        console.print("no incidents" if resolved else "no open incidents")
        return
    from basin.observe.incidents import time_to_detect, time_to_resolve

    table = Table(show_edge=False, header_style="bold")
    table.add_column("id", no_wrap=True)  # copied into the next command: never cut
    for col in ("kind", "subject", "opened (UTC)", "state", "what"):
        table.add_column(col, overflow="fold")
    for i in incidents:
        style = "red" if i.severity == "error" else "yellow"
        if i.resolved_at:
            state = (
                f"resolved by {i.resolved_by or '?'} in {_span(time_to_resolve(i))}"
                f" (detected in {_span(time_to_detect(i))})"
            )
        elif i.acked_at:
            state = f"acknowledged by {i.acked_by}, {i.occurrences}×"
        else:
            state = f"open, {i.occurrences}×"
        table.add_row(
            str(i.id),
            f"[{style}]{i.kind}[/]",
            ".".join(x for x in (i.source, i.entity) if x),
            _when(i.opened_at),
            state,
            escape(i.message),
        )
    console.print(table)
    console.print("[dim]`basin incidents show <id>` for one; `ack` and `resolve` act on it[/]")


def render_incident(console: Console, i: Any) -> None:
    from basin.observe.incidents import time_to_detect, time_to_resolve

    console.print(f"[bold]incident {i.id}[/] {i.kind} ({i.severity})")
    for label, value in (
        ("subject", ".".join(x for x in (i.source, i.entity) if x)),
        ("what", i.message),
        ("began (UTC)", _when(i.event_at)),
        ("opened (UTC)", _when(i.opened_at)),
        ("last seen (UTC)", f"{_when(i.last_seen_at)} ({i.occurrences}×)"),
        ("acknowledged", f"{_when(i.acked_at)} by {i.acked_by}" if i.acked_at else "—"),
        ("resolved", f"{_when(i.resolved_at)} by {i.resolved_by}" if i.resolved_at else "—"),
        ("time to detect", _span(time_to_detect(i))),
        ("time to resolve", _span(time_to_resolve(i))),
        ("run", i.run_id or "—"),
        ("batch", i.batch_id or "—"),
        ("fingerprint", i.fingerprint or "—"),
    ):
        console.print(f"  {label:16s} {escape(str(value))}")


def _span(delta: Any) -> str:
    from basin.observe.monitors import human

    return "—" if delta is None else human(delta)


def render_slos(console: Console, windows: list[Any]) -> None:
    table = Table(show_edge=False, header_style="bold")
    for col in ("objective", "window", "target", "attained", "events", "budget left", "burn"):
        table.add_column(col, no_wrap=col in ("objective", "window"))
    for w in windows:
        attained = "—" if w.attainment is None else f"{w.attainment:.2%}"
        left = "—" if w.budget_left is None else f"{w.budget_left:.0%}"
        style = "red" if (w.budget_left is not None and w.budget_left <= 0) else "green"
        table.add_row(
            w.slo,
            f"{w.days} d",
            f"{w.target:.2%}",
            attained,
            f"{w.good}/{w.total}",
            f"[{style}]{left}[/]" if w.budget_left is not None else left,
            "—" if w.burn_rate is None else f"{w.burn_rate:.1f}x",
        )
    console.print(table)
    if not any(w.slo == "freshness" for w in windows):
        console.print("[dim]freshness needs orchestration.schedule: it counts scheduled times[/]")


def render_audit(console: Console, entries: list[Any]) -> None:
    if not entries:
        console.print("the audit log is empty")
        return
    import json

    table = Table(show_edge=False, header_style="bold")
    table.add_column("#", no_wrap=True)
    for col in ("when (UTC)", "who", "command", "outcome"):
        table.add_column(col, overflow="fold")
    for e in entries:
        style = "green" if e.outcome in ("success", "recorded") else "red"
        args = " ".join(json.loads(e.arguments or "[]"))
        table.add_row(
            str(e.seq),
            _when(e.at),
            escape(e.actor),
            escape(f"{e.command}: {args}" if e.command == "config changed" else f"basin {args}"),
            f"[{style}]{escape(e.outcome)}[/]" + (f"\n{escape(e.detail)}" if e.detail else ""),
        )
    console.print(table)
    console.print("[dim]`basin audit verify` checks that no entry was changed since[/]")


def render_access_plan(
    console: Console, policy: Any, changes: list[Any], applied: bool, show_sql: bool = False
) -> None:
    for note in policy.notes:
        console.print(f"[yellow]note[/]: {escape(note)}")
    if not changes:
        console.print("[green]✓[/] the warehouse matches the policy: nothing to change")
        return
    verb = "applied" if applied else "to apply"
    console.print(f"[bold]{len(changes)} change(s) {verb}[/]")
    if show_sql:
        from basin.common.redaction import redact

        for change in changes:
            console.print(escape(redact(change.sql)) + ";", soft_wrap=True)
        return
    for change in changes:
        if not change.says:
            continue
        revoke = change.sql.lower().startswith("revoke") or " revoke " in change.sql.lower()
        console.print(f"  {'[red]-[/]' if revoke else '[green]+[/]'} {escape(change.says)}")
    if not applied:
        console.print(
            "[dim]`basin access apply` runs them in one transaction; --sql shows the SQL[/]"
        )


def render_access_check(console: Console, report: Any) -> None:
    for note in report.notes:
        console.print(f"[yellow]note[/]: {escape(note)}")
    if report.beyond:
        console.print(f"[red]{len(report.beyond)} privilege(s) beyond the policy[/]:")
        for line in report.beyond:
            console.print(f"  [red]![/] {escape(line)}")
    else:
        console.print("[green]✓[/] no privilege beyond the policy")
    if report.unused:
        console.print(f"[yellow]roles nobody holds[/]: {escape(', '.join(report.unused))}")
    for role, columns in sorted(report.pii.items()):
        shown = ", ".join(columns[:4]) + (
            f" and {len(columns) - 4} more" if len(columns) > 4 else ""
        )
        console.print(f"[yellow]{escape(role)} reads PII unmasked[/]: {escape(shown)}")
    if report.pending:
        console.print(
            f"[yellow]{report.pending} change(s) not applied[/]: `basin access plan` lists them"
        )


def render_publications(console: Console, kept: list[Any]) -> None:
    """``basin publish --list``: publications newest first, current and restorable."""
    if not kept:
        console.print("nothing published yet: start with [bold]basin run[/]")
        return
    table = Table(title="publications", title_justify="left")
    table.add_column("run", no_wrap=True)
    table.add_column("published (UTC)", no_wrap=True)
    table.add_column("tables", justify="right")
    table.add_column("state", no_wrap=True)
    for k in kept:
        state = (
            "[green]current[/]"
            if k.current
            else "restorable"
            if k.restorable
            else "[dim]not kept[/]"
        )
        table.add_row(
            k.run_id,
            (k.published_at or "—").replace("T", " ").split("+")[0],
            "—" if k.tables is None else str(k.tables),
            state,
        )
    console.print(table)
    if any(k.restorable and not k.current for k in kept):
        console.print("put a restorable one back with: [bold]basin publish --restore RUN[/]")
