"""The ``basin`` command: thin wrappers over :class:`basin.pipeline.platform.Platform`.

Each command parses its options, calls one façade method and renders the result.
Errors become a message with a hint and a non-zero exit code, never a traceback
(``--verbose`` shows one for unexpected errors).

Start-up stays fast: nothing heavier than Typer and Rich is imported before a
command runs (``tests/test_imports.py`` checks it).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from basin import __version__
from basin.cli.reporting import RichReporter
from basin.common.errors import BasinError, TerminalError
from basin.common.logging import get_logger

if TYPE_CHECKING:
    from basin.config import Project
    from basin.pipeline.platform import Platform

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
reporter = RichReporter(console)
log = get_logger("basin.cli")

app = typer.Typer(
    name="basin",
    help=(
        "Basin: sources → lake → warehouse → dbt → quality gate → published marts.\n\n"
        "Run inside a project (a folder with basin.yml) or pass --project. "
        "`basin run` does the whole flow once; each step also has its own command."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)

ProjectOpt = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="Project folder or basin.yml (default: search from the current folder up).",
    ),
]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        envvar="BASIN_ENV",
        help="Environment from basin.yml (default: default_env, else dev).",
    ),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        "-s",
        metavar="SOURCE[.ENTITY]",
        help="Source or source.entity to work on; repeat for several (default: all).",
    ),
]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="If another writing command of this project and environment is running, "
        "wait for it to finish instead of failing at once.",
    ),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show dbt's output and tracebacks.")
]
LogFormatOpt = Annotated[
    str,
    typer.Option(
        "--log-format",
        help="text (default) or json: one JSON object per line on stdout (time, level, "
        "logger, message, run_id, step, source, entity), for log collectors.",
        case_sensitive=False,
    ),
]


class _State:
    project: Path | None = None
    env: str | None = None
    verbose: bool = False
    log_format: str = "text"
    command: str | None = None
    """The command running (for the audit log)."""
    error: str | None = None
    """Its error, as printed (for the audit log)."""


state = _State()


def _version(value: bool) -> None:
    if value:
        console.print(f"basin {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    project: ProjectOpt = None,
    env: EnvOpt = None,
    verbose: VerboseOpt = False,
    log_format: LogFormatOpt = "text",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    if log_format.lower() not in ("text", "json"):
        raise typer.BadParameter(
            f"{log_format!r} is not a log format: use text or json", param_hint="--log-format"
        )
    state.project = project
    state.env = env
    state.command = ctx.invoked_subcommand
    state.verbose = verbose
    state.log_format = log_format.lower()
    _show_logs()


def _show_logs() -> None:
    from basin.cli.reporting import install

    install(reporter, state.log_format, sys.stdout, verbose=state.verbose)


def _say(markup: str) -> None:
    """A line of the command's own output (Rich markup), or a record in JSON mode."""
    if state.log_format == "json":
        from rich.text import Text

        log.info(Text.from_markup(markup).plain)
    else:
        console.print(markup)


def _platform(wait: bool = False) -> Platform:
    from basin.config import load_project

    return _platform_of(load_project(state.project, state.env), wait)


def _platform_of(project: Project, wait: bool = False) -> Platform:
    from basin.pipeline.platform import Platform

    return Platform(
        project,
        reporter=reporter if state.log_format == "text" else None,
        verbose=state.verbose,
        wait=float("inf") if wait else None,
    )


def _with_platform(fn: Callable[[Platform], T], *, wait: bool = False) -> T:
    platform = _platform(wait)
    _say(
        f"[dim]project[/] {platform.project.config.project}  [dim]env[/] {platform.project.env_name}  "
        f"[dim]folder[/] {platform.project.root}"
    )
    try:
        return fn(platform)
    finally:
        platform.close()


@app.command()
def run(select: SelectOpt = None, wait: WaitOpt = False) -> None:
    """Run the whole flow once: extract → load → transform (dbt build with tests) → publish.

    Finished work is never repeated: files already extracted and batches already
    loaded are skipped, so running again after a failure picks up where it stopped.
    A failed build or test leaves the last good publication in place.

    --select limits what is extracted and loaded; dbt always builds the whole project,
    since only a whole build that passed is published.
    """
    summary = _with_platform(lambda p: p.run(select), wait=wait)
    _say(f"[green]✓[/] run {summary.run_id} succeeded in {summary.seconds:.1f} s")


@app.command()
def extract(
    select: SelectOpt = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Forget the selected entities' watermark, files taken and accepted schema, "
            "extract everything again and replace their raw tables at the next load. Needs --select.",
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            help="Backfill: re-extract cursor-based entities from this cursor value (e.g. 2026-01-01)."
        ),
    ] = None,
    wait: WaitOpt = False,
) -> None:
    """Extract new data from the sources into lake batches (Parquet + manifest).

    Entities run in parallel (extract.parallelism in basin.yml). Rows that cannot be
    parsed go to the lake's quarantine/ folder with the reason; a batch that breaks its
    entity's schema contract is quarantined whole and opens an incident.
    """
    results = _with_platform(
        lambda p: p.extract(select, full_refresh=full_refresh, since=since), wait=wait
    )
    new = [r for r in results if r.batch_id]
    _say(f"[green]✓[/] {len(new)} new batch(es), {sum(r.rows for r in new)} rows")


@app.command()
def load(select: SelectOpt = None, wait: WaitOpt = False) -> None:
    """Load complete lake batches into the warehouse's raw schema, each exactly once."""
    results = _with_platform(lambda p: p.load(select), wait=wait)
    loaded = [r for r in results if not r.skipped]
    _say(f"[green]✓[/] {len(loaded)} batch(es) loaded, {sum(r.rows for r in loaded)} rows")


@app.command()
def replay(select: SelectOpt = None, wait: WaitOpt = False) -> None:
    """Rebuild the warehouse's raw tables from the lake alone, without reading any source."""
    results = _with_platform(lambda p: p.replay(select), wait=wait)
    tables = len({r.table for r in results})
    _say(f"[green]✓[/] {tables} raw table(s) rebuilt from {len(results)} batch(es) of the lake")


@app.command()
def drill(wait: WaitOpt = False) -> None:
    """The disaster drill: rebuild the warehouse from the lake alone and compare it with
    the last publication, table by table.

    The live warehouse is never touched: the rebuild goes to .basin/ENV/drill/ (on
    PostgreSQL, the database NAME_drill beside the warehouse's NAME), which each drill
    empties first. Prints RTO
    (seconds to rebuild) and RPO (batches the lake could not give back; 0 is the
    promise), records the drill as a run, and exits 1 if anything differs.
    """
    from basin.recovery.drill import drill as run_drill

    report = _with_platform(run_drill, wait=wait)
    _say(
        f"[green]✓[/] drill {report.run_id}: {len(report.tables)} published table(s) equal "
        f"to publication {report.publication_run} after a rebuild from the lake\n"
        f"  RTO {report.rto_seconds:.1f} s ({report.replayed_batches} batch(es) replayed, "
        f"built, published)  RPO 0 batches lost\n  rebuild kept in {report.location}"
    )


@app.command()
def backup(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="DEST",
            help="A folder or an s3:// URL; the backup goes to DEST/ENV/BACKUP_ID/.",
        ),
    ],
    wait: WaitOpt = False,
) -> None:
    """Back up the environment: its metadata store, what is published (DuckDB's snapshot;
    pg_dump on PostgreSQL) and every lake manifest, each file checked by sha256.

    Holds the environment's lock, so no run changes anything meanwhile. The lake's data
    files are not copied: they never change (keep the bucket versioned).
    """
    from basin.recovery.backup import backup as run_backup

    report = _with_platform(lambda p: run_backup(p, to), wait=wait)
    _say(
        f"[green]✓[/] backup {report.backup_id} written to {report.location}: "
        f"{report.files} file(s), {report.bytes:,} bytes, all read back and checked\n"
        f"  {report.store_rows:,} metadata row(s), {report.manifests} lake manifest(s), "
        f"publication {report.publication_run or '(none)'}"
    )


@app.command()
def restore(
    from_: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="SOURCE",
            help="A backup's folder, or the folder `basin backup --to` wrote into "
            "(its newest backup of this environment is taken).",
        ),
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before replacing anything.")
    ] = False,
    wait: WaitOpt = False,
) -> None:
    """Restore a backup: the environment's metadata, the published warehouse and the lake
    manifests it lost. Every file is checked first; nothing changes if one differs.

    On DuckDB the publication it replaces is kept (`basin publish --list`); the metadata rows made
    since the backup are replaced (the audit log is kept); lake manifests that exist are
    never overwritten.
    """
    import sys

    from basin.recovery import backup as backups

    if not yes:
        if not sys.stdin.isatty():
            raise typer.BadParameter(
                "restoring replaces the environment's metadata and publication: add --yes "
                "to do it without a question",
                param_hint="--yes",
            )
        found = _with_platform(lambda p: backups.find(p, from_))
        typer.confirm(
            f"Replace this environment's metadata and publication with backup "
            f"{found[2].get('backup_id')} ({found[2].get('created_at')})?",
            abort=True,
        )
    report = _with_platform(lambda p: backups.restore(p, from_), wait=wait)
    lines = [
        f"[green]✓[/] restored backup {report.backup_id} from {report.location}: "
        f"publication {report.publication_run or '(none)'} ({report.tables} table(s)), "
        f"{report.store_rows:,} metadata row(s)",
        f"  lake: {len(report.manifests_restored)} lost manifest(s) put back",
    ]
    if report.manifests_differing:
        lines.append(
            f"  [yellow]![/] {len(report.manifests_differing)} manifest(s) differ from the "
            "backup's and were kept as the lake has them: "
            + ", ".join(report.manifests_differing[:3])
        )
    if report.manifests_without_data:
        lines.append(
            f"  [yellow]![/] {len(report.manifests_without_data)} manifest(s) not put back: "
            "their data files are gone from the lake: "
            + ", ".join(report.manifests_without_data[:3])
        )
    _say("\n".join(lines))


@app.command()
def transform(
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            "-s",
            metavar="SELECTOR",
            help="dbt selector(s), e.g. staging+ or customer_engagement.",
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            metavar="DIR",
            help="Slim CI: build only what changed against the dbt manifest.json in DIR "
            "(e.g. production's last build): +state:modified+ unless --select says "
            "otherwise, with dbt's --defer. Without a manifest there, everything is built.",
        ),
    ] = None,
    wait: WaitOpt = False,
) -> None:
    """Build the dbt project (models, snapshots, seeds and their tests) with a generated profile."""
    run_ = _with_platform(lambda p: p.transform(select, state), wait=wait)
    _say(f"[green]✓[/] dbt build passed ({len(run_.nodes)} nodes)")


@app.command()
def compile(
    select: Annotated[
        list[str] | None,
        typer.Option("--select", "-s", metavar="SELECTOR", help="dbt selector(s) to compile."),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Never connect to the warehouse: skips incremental models, snapshots and unit tests.",
        ),
    ] = False,
    wait: WaitOpt = False,
) -> None:
    """Compile the dbt project for the environment's engine, without reading or writing data."""
    run_ = _with_platform(lambda p: p.compile(select, offline=offline), wait=wait)
    _say(
        f"[green]✓[/] compiled {len(run_.nodes)} node(s); SQL under .basin/<env>/dbt/target/compiled"
    )


@app.command()
def check(
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select", "-s", metavar="SELECTOR", help="dbt selector(s) of the tests to run."
        ),
    ] = None,
    report: Annotated[
        bool,
        typer.Option("--report", help="Also write the offline HTML quality report."),
    ] = False,
    report_path: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the report (default `.basin/<env>/reports/quality.html`)."
        ),
    ] = None,
    wait: WaitOpt = False,
) -> None:
    """Run the quality checks (dbt tests) against the built models, without rebuilding.

    A whole-table pass: every row of every model is tested (a run's build tests only
    the rows its new batches brought; docs/howto/incremental.md). Every outcome, with
    failing-row counts and samples, lands in the metadata store; --report writes them
    as an offline HTML page with each table's history.
    """

    def go(p: Platform) -> Any:
        try:
            return p.check(select)
        finally:
            if report or report_path:
                written = p.quality_report(report_path)
                _say(f"report: {written}")

    run_ = _with_platform(go, wait=wait)
    _say(f"[green]✓[/] {len(run_.nodes)} check(s) passed")


@app.command()
def publish(
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="Publish the build of this run explicitly (it must be the latest build); "
            "accepts a build held back for warnings.",
        ),
    ] = None,
    list_: Annotated[
        bool,
        typer.Option(
            "--list", help="List the publications: which is current, which can be restored."
        ),
    ] = False,
    restore: Annotated[
        str | None,
        typer.Option(
            "--restore",
            metavar="RUN",
            help="Make the kept publication of run RUN the published one again (DuckDB; "
            "atomic; the current one is kept, so it can be restored back).",
        ),
    ] = None,
    wait: WaitOpt = False,
) -> None:
    """Publish the audited marts, if the latest build passed (atomic; readers never see a mix).

    --list shows earlier publications; --restore RUN puts a kept one back (DuckDB keeps
    the last publish.keep snapshots in published/history/).
    """
    if list_ or restore:
        if run or (list_ and restore):
            raise typer.BadParameter(
                "--run publishes a build, --list lists publications, --restore puts one back: "
                "use one of them",
                param_hint="--run / --list / --restore",
            )
        from basin.recovery import publications

        if restore:
            restored = _with_platform(lambda p: publications.restore(p, restore), wait=wait)
            _say(
                f"[green]✓[/] restored publication {restore}: readers of {restored.location} "
                f"see it again ({len(restored.tables)} table(s))"
            )
            return
        from basin.cli.render import render_publications

        render_publications(console, _with_platform(publications.listing))
        return
    result = _with_platform(lambda p: p.publish(run), wait=wait)
    _say(f"[green]✓[/] published: readers of {result.location} see the new build")


@app.command()
def status(limit: Annotated[int, typer.Option(help="How many recent runs to show.")] = 5) -> None:
    """Show the latest runs with their steps, rows and durations, and what is published."""
    from basin.cli.render import render_status

    render_status(console, _with_platform(lambda p: p.status(limit)))


catalog_app = typer.Typer(
    help="Every dataset Basin knows: sources, lake, raw, models, published tables.",
    no_args_is_help=True,
)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("search")
def catalog_search(
    text: Annotated[
        str, typer.Argument(help="Text in a name, description, owner, tag or column.")
    ] = "",
) -> None:
    """List the datasets that match TEXT (all of them without it)."""
    from basin.cli.render import render_catalog

    render_catalog(console, _with_platform(lambda p: p.catalog_search(text)), text)


@catalog_app.command("show")
def catalog_show(
    dataset: Annotated[str, typer.Argument(help="Dataset key or its unambiguous ending.")],
) -> None:
    """Show one dataset: columns, description, owner, tags, rows, freshness, neighbours."""
    from basin.cli.render import render_dataset

    render_dataset(console, _with_platform(lambda p: p.catalog_show(dataset)))


quarantine_app = typer.Typer(
    help="What extraction set aside: rows that did not parse or cast, unreadable files, "
    "batches that broke their contract.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(select: SelectOpt = None) -> None:
    """List the quarantined batches: entity, rows, files kept whole, contract breaks,
    and the batch each was released into."""
    from basin.cli.render import render_quarantine

    render_quarantine(console, _with_platform(lambda p: p.quarantined(select)))


@quarantine_app.command("show")
def quarantine_show(
    batch: Annotated[str, typer.Argument(help="A batch id from `basin quarantine list`.")],
    limit: Annotated[int, typer.Option(help="How many rows to show.")] = 50,
) -> None:
    """Show a quarantined batch: why, and its rows with file, line, column and reason."""
    from basin.cli.render import render_quarantined_rows
    from basin.lake.quarantine import listing, rows

    def find(p: Platform) -> Any:
        found = [q for q in listing(p.lake) if q.batch_id == batch]
        return (found[0], rows(p.lake, found[0], limit)) if found else None

    shown = _with_platform(find)
    if shown is None:
        raise BasinError(
            f"no quarantined batch {batch}", hint="`basin quarantine list` shows their ids"
        )
    render_quarantined_rows(console, *shown)


@quarantine_app.command("release")
def quarantine_release(
    batch: Annotated[str, typer.Argument(help="A batch id from `basin quarantine list`.")],
    wait: WaitOpt = False,
) -> None:
    """Read a quarantined batch's records again into a new batch, after fixing the
    settings that rejected them (a column type, csv.dateformat, csv.decimal_separator …).

    Only the quarantined records are read, so rows of the same files that landed are
    not taken twice; a file that could not be read at all is read again whole from the
    copy kept in quarantine. Records that fail again are quarantined in the new batch.
    The next `basin load` (or `basin run`) loads it. A batch is released once.
    """
    result = _with_platform(lambda p: p.release(batch), wait=wait)
    again = f", {result.quarantined_rows} quarantined again" if result.quarantined_rows else ""
    _say(
        f"[green]✓[/] {result.source}.{result.entity}: {result.rows} row(s) of batch {batch} "
        f"released into batch {result.batch_id}{again}; `basin load` (or `basin run`) loads it"
    )


@app.command()
def monitor() -> None:
    """Evaluate the monitors now: freshness of each source entity and of the
    publication, volume of each entity's newest batch against its history, schema
    drift, and the newest build's check pass rate (`monitors:` in basin.yml).

    Reads only the metadata store. A breach opens an incident (one per monitor and
    target); a monitor that is fine again resolves its incident. `basin run` does this
    after every run.
    """
    from basin.cli.render import render_findings

    findings, _changes = _with_platform(lambda p: p.monitor())
    render_findings(console, findings)
    breaches = [f for f in findings if f.status == "breach"]
    if breaches:
        raise typer.Exit(code=1)


@app.command()
def metrics(
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve them on 127.0.0.1 until interrupted.")
    ] = False,
    port: Annotated[
        int | None, typer.Option(help="Port to serve on (default: metrics.port, 9464).")
    ] = None,
    all_envs: Annotated[
        bool,
        typer.Option(
            "--all-envs",
            help="Every environment the DAGs run (orchestration.environments; default all), "
            "each labelled env=, instead of --env's.",
        ),
    ] = False,
) -> None:
    """Print the project's Prometheus metrics (runs, steps, rows, quarantined rows,
    checks, monitors, freshness, open incidents, publication), or serve them for
    Prometheus to scrape. Every `basin run` also writes them to metrics.textfile for
    node-exporter's textfile collector; `basin serve` serves them with Airflow."""
    from prometheus_client import generate_latest

    from basin.config import load_project
    from basin.observe.metrics import registry

    first = _platform(False)
    platforms = [first]
    try:
        if all_envs:
            config = first.project.config
            names = config.orchestration.environments or list(config.environments)
            platforms = [_platform_of(load_project(state.project, name)) for name in names]
            first.close()
        reg = registry((p.store, p.project.config, p.project.env_name) for p in platforms)
        if not serve:
            sys.stdout.write(generate_latest(reg).decode())
            return
        _serve_metrics(reg, port or platforms[0].project.config.metrics.port)
    finally:
        for p in platforms:
            p.close()


def _serve_metrics(reg: object, port: int) -> None:
    import threading

    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, addr="127.0.0.1", registry=reg)  # type: ignore[arg-type]
    except OSError as exc:
        raise TerminalError(
            f"cannot serve the metrics on 127.0.0.1:{port}: {exc.strerror or exc}",
            hint="stop what listens there, or choose another port (--port, metrics.port)",
        ) from exc
    _say(f"[green]✓[/] metrics on http://127.0.0.1:{port}/metrics (Ctrl-C stops)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


@app.command()
def slo() -> None:
    """Show each service-level objective's attainment and error budget over 7 and 28
    days (`slos:` in basin.yml): job success, freshness of the published marts after
    each scheduled time, data quality. A budget burning over the longest window opens
    an incident at the next run or `basin monitor`."""
    from basin.cli.render import render_slos
    from basin.metadata.store import utcnow
    from basin.observe.slos import evaluate

    windows = _with_platform(lambda p: evaluate(p.project.config, p.store, utcnow()))
    render_slos(console, windows)


access_app = typer.Typer(
    help="Access: the roles, users and grants of `access:` in basin.yml, on the "
    "PostgreSQL warehouse — plan, apply, check.",
    no_args_is_help=True,
)
app.add_typer(access_app, name="access")


@access_app.command("plan")
def access_plan(
    show_sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL statements (secrets masked).")
    ] = False,
) -> None:
    """Show what `basin access apply` would change: roles and users to create, roles
    to grant or revoke, privileges to grant or revoke (the difference between the
    policy and the server; nothing when they agree). On Snowflake: the whole policy's
    SQL, for a worksheet (no account is compared)."""
    from basin.access.manage import plan
    from basin.cli.render import render_access_plan

    policy, changes = _with_platform(lambda p: plan(p.project))
    render_access_plan(console, policy, changes, applied=False, show_sql=show_sql)


@access_app.command("apply")
def access_apply() -> None:
    """Bring the warehouse's roles and grants to the policy, in one transaction, and
    revoke what the policy no longer grants to Basin's roles."""
    from basin.access.manage import apply
    from basin.cli.render import render_access_plan

    policy, changes = _with_platform(lambda p: apply(p.project), wait=True)
    render_access_plan(console, policy, changes, applied=True)


@access_app.command("check")
def access_check() -> None:
    """Least privilege: privileges on Basin's schemas that the policy does not give
    (a manual grant), roles nobody holds, changes not applied yet. Exit status 1 if any
    privilege exceeds the policy."""
    from basin.access.manage import check
    from basin.cli.render import render_access_check

    report = _with_platform(lambda p: check(p.project))
    render_access_check(console, report)
    if report.beyond:
        raise typer.Exit(code=1)


audit_app = typer.Typer(
    help="The audit log: every Basin command on this project and environment — who, "
    "when, the arguments (secrets redacted), the outcome — hash-chained.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """List the newest entries of the audit log."""
    from basin.access.audit import entries
    from basin.cli.render import render_audit

    render_audit(console, _with_platform(lambda p: entries(p.store, limit)))


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit log's hash chain: name every entry edited, deleted or
    inserted since it was written. Exit status 1 if any."""
    from basin.access.audit import verify

    checked, problems = _with_platform(lambda p: verify(p.store))
    if not problems:
        _say(f"[green]✓[/] the audit log is intact: {checked} entries, each chained to the last")
        return
    for problem in problems:
        err_console.print(f"[red]entry {problem.seq}[/]: {problem.what}")
    err_console.print(
        f"[red]error[/]: the audit log was changed after it was written "
        f"({len(problems)} problem(s) in {checked} entries)"
    )
    raise typer.Exit(code=1)


incidents_app = typer.Typer(
    help="Incidents: opened by a failed run or gate, a breached monitor or a missed "
    "deadline; resolved by hand or when the condition clears.",
    no_args_is_help=True,
)
app.add_typer(incidents_app, name="incidents")


@incidents_app.command("list")
def incidents_list(
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """List the open incidents (with --all, the resolved ones too, with their times to
    detect and to resolve)."""
    from basin.cli.render import render_incidents

    found = _with_platform(lambda p: p.store.incidents(open_only=not all_, limit=limit))
    render_incidents(console, found, resolved=all_)


@incidents_app.command("show")
def incidents_show(incident: Annotated[int, typer.Argument(help="An incident id.")]) -> None:
    """Show one incident: what, since when, how often, who acknowledged or resolved it."""
    from basin.cli.render import render_incident

    found = _with_platform(lambda p: p.store.incident(incident))
    if found is None:
        raise BasinError(
            f"no incident {incident} in this environment",
            hint="`basin incidents list --all` shows their ids",
        )
    render_incident(console, found)


ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Who (default: your user name)."),
]


@incidents_app.command("ack")
def incidents_ack(
    incident: Annotated[int, typer.Argument(help="An incident id.")], by: ByOpt = None
) -> None:
    """Acknowledge an incident: someone is on it (it stays open until resolved)."""
    from basin.metadata.store import utcnow
    from basin.observe.incidents import acknowledge

    who = by or _user()
    found = _with_platform(lambda p: p.incident_action(acknowledge, incident, who, utcnow()))
    _say(f"[green]✓[/] incident {found.id} acknowledged by {who}")


@incidents_app.command("resolve")
def incidents_resolve(
    incident: Annotated[int, typer.Argument(help="An incident id.")], by: ByOpt = None
) -> None:
    """Resolve an incident by hand. If its condition persists, the next evaluation
    opens a new one."""
    from basin.metadata.store import utcnow
    from basin.observe.incidents import resolve

    who = by or _user()
    found = _with_platform(lambda p: p.incident_action(resolve, incident, who, utcnow()))
    _say(f"[green]✓[/] incident {found.id} resolved by {who}")


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@app.command()
def docs(wait: WaitOpt = False) -> None:
    """Generate the dbt docs of the project as one offline HTML file and print its path."""
    path = _with_platform(lambda p: p.docs(), wait=wait)
    _say(
        f"[green]✓[/] dbt docs written to [bold]{path}[/] (open it in a browser; no server needed)"
    )


@app.command()
def lineage(
    dataset: Annotated[
        str, typer.Argument(help="Dataset: marts.customer_360, raw.crm__customers, or its ending.")
    ],
    column: Annotated[
        str | None, typer.Option("--column", "-c", help="Follow one column instead of the table.")
    ] = None,
    downstream: Annotated[
        bool,
        typer.Option("--downstream/--upstream", help="What it feeds, or (default) what feeds it."),
    ] = False,
) -> None:
    """Print where a dataset (or one column) comes from, or where it goes, as a tree.

    Lineage is recorded by every run: sources → lake → raw (one to one), dbt models
    (column lineage traced from the compiled SQL) → published tables.
    """
    from basin.cli.render import render_lineage

    tree = _with_platform(lambda p: p.lineage_tree(dataset, column, upstream=not downstream))
    render_lineage(console, tree, upstream=not downstream)


@app.command()
def serve(
    stop: Annotated[
        bool,
        typer.Option(
            "--stop", help="Stop the processes an earlier serve started (any orchestrator)."
        ),
    ] = False,
    orchestrator: Annotated[
        str | None,
        typer.Option(
            "--orchestrator",
            metavar="airflow|dagster|prefect",
            help="Which scheduler to start. Default: orchestration.orchestrator (airflow).",
        ),
    ] = None,
    bi: Annotated[
        bool,
        typer.Option(
            "--bi", help="Start Superset too (as basin bi serve; bi.serve: true does it always)."
        ),
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            metavar="local|celery",
            help="Run tasks in the scheduler (local) or on Celery workers through the broker "
            "(celery: orchestration.celery.workers workers; Airflow's database must be "
            "PostgreSQL). Default: orchestration.executor.",
        ),
    ] = None,
) -> None:
    """Start Airflow for this project on 127.0.0.1 (UI, scheduler, DAG processor, triggerer),
    Basin's web UI (web.port; web.serve: false turns it off) and the Prometheus metrics
    of its environments (metrics.port; metrics.serve: false turns it off).

    The DAGs come from the project's dags folder (one per environment, built from
    basin.yml); they run on their schedule, when a file lands in a drop folder, or when
    triggered from the UI. Airflow keeps its database and logs in .basin/airflow.
    The processes keep running after this command returns: `basin serve --stop` ends them.

    With --orchestrator dagster (or orchestration.orchestrator: dagster), `dagster dev`
    instead: its UI and daemon on 127.0.0.1 (orchestration.port), the same schedule,
    retries, deadline and triggers as assets, a job, a schedule and sensors per
    environment; Dagster keeps its instance in .basin/dagster. With prefect: the
    Prefect server on 127.0.0.1 and a runner of each environment's deployments (Prefect
    in its own environment: pip install 'basin[prefect]'), state in .basin/prefect.
    """
    from basin.config import load_project
    from basin.orchestration.airflow import serve as airflow_serve
    from basin.orchestration.dagster import serve as dagster_serve
    from basin.orchestration.prefect import serve as prefect_serve

    project = load_project(state.project, state.env)
    from basin.bi.superset import server as superset

    if stop:
        airflow = airflow_serve.stop(project.root)
        stopped = [f"Airflow ({', '.join(airflow)})"] if airflow else []
        if dagster_serve.stop(project.root):
            stopped.append("Dagster")
        if prefect_serve.stop(project.root):
            stopped.append("Prefect")
        if superset.stop(project.root):
            stopped.append("Superset")
        if stopped:
            _say(f"[green]✓[/] stopped {', '.join(stopped)}")
        else:
            _say("nothing to stop: basin serve is not running for this project")
        return
    orch = project.config.orchestration
    chosen = orchestrator or orch.orchestrator
    if chosen not in ("airflow", "dagster", "prefect"):
        raise typer.BadParameter(
            f"{chosen!r}: use airflow, dagster or prefect", param_hint="--orchestrator"
        )
    if chosen != "airflow":
        if executor is not None:
            raise typer.BadParameter(
                f"--executor is Airflow's; {chosen} runs the steps in its own processes",
                param_hint="--executor",
            )
        if chosen == "dagster":
            with console.status("starting Dagster (webserver and daemon)…"):
                other = dagster_serve.start(project.root, orch.port)
            name = "Dagster"
        else:
            with console.status("starting Prefect (server, then the deployments' runner)…"):
                other = prefect_serve.start(project.root, orch.port)
            name = "Prefect"
        verb = "is already running" if other.already_running else "is running"
        _say(f"[green]✓[/] {name} {verb} at [bold]{other.url}[/]")
        _say(f"  logs in {Path(other.log).parent}; stop with [bold]basin serve --stop[/]")
        return
    if executor is not None:
        if executor not in ("local", "celery"):
            raise typer.BadParameter(f"{executor!r}: use local or celery", param_hint="--executor")
        orch = orch.model_copy(update={"executor": executor})
    workers = f", {orch.celery.workers} Celery workers" if orch.executor == "celery" else ""
    with console.status(
        f"starting Airflow (database, API server, scheduler, DAG processor, triggerer{workers})…"
    ):
        served = airflow_serve.start(
            project.root,
            orch,
            project.config.metrics,
            project.config.web.port if project.config.web.serve else None,
        )
    verb = "is already running" if served.already_running else "is running"
    _say(f"[green]✓[/] Airflow {verb} at [bold]{served.url}[/]")
    celery = sorted(n for n in served.pids if n.startswith("worker-"))
    if celery:
        _say(
            f"  Celery workers: {', '.join(celery)} (broker {orch.celery.broker_url.split('@')[-1]})"
        )
    if served.web_url:
        _say(f"  Basin's web UI at [bold]{served.web_url}[/]")
    if served.metrics_url:
        _say(f"  Prometheus metrics at [bold]{served.metrics_url}[/]")
    _say(f"  user [bold]{served.user}[/], password in {served.password_file}")
    _say(f"  logs in {served.log_dir}; stop with [bold]basin serve --stop[/]")
    if bi or project.config.bi.serve:
        with console.status("starting Superset (installing it on first use)…"):
            bi_served = superset.start(project)
        _say(
            f"[green]✓[/] Superset at [bold]{bi_served.url}[/] (admin, password in "
            f"{superset.password_file(project.root)}); `basin bi apply` imports the dashboards"
        )


@app.command()
def kubernetes(
    image: Annotated[
        str,
        typer.Option(
            "--image", help="The image every Airflow pod runs, e.g. registry/acme/shop:1.0."
        ),
    ],
    namespace: Annotated[str, typer.Option(help="Namespace of the task pods.")] = "airflow",
    secret: Annotated[
        str, typer.Option(help="Secret holding basin.yml's ${env:…} variables.")
    ] = "basin-secrets",
    out: Annotated[Path, typer.Option(help="Folder to write into, inside the project.")] = Path(
        "kubernetes"
    ),
) -> None:
    """Render Airflow's KubernetesExecutor settings for this project: a pod template (each
    task in its own pod), the scheduler's AIRFLOW__* settings and a Dockerfile for the
    image. Nothing is applied to a cluster; see docs/howto/airflow.md."""
    from basin.config import load_project
    from basin.orchestration.airflow.kubernetes import KubernetesTarget, render

    project = load_project(state.project, state.env)
    folder = out if out.is_absolute() else project.root / out
    target = KubernetesTarget(image=image, namespace=namespace, secret=secret)
    written = render(project.root, project.config.project, target, folder)
    _say(
        f"[green]✓[/] wrote {', '.join(str(p.relative_to(project.root)) if p.is_relative_to(project.root) else str(p) for p in written)}"
    )
    _say(
        "  build the image from the project folder with the Dockerfile, create the secret "
        f"{secret!r} from your .env, and give the scheduler the settings in airflow.env"
    )


@app.command()
def web(
    port: Annotated[int | None, typer.Option(help="Port (default: web.port, 8090).")] = None,
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on (default: web.host, 127.0.0.1). Any other address "
            "requires a login: admin, password in .basin/web/passwords.json."
        ),
    ] = None,
    all_envs: Annotated[
        bool,
        typer.Option(
            "--all-envs/--one-env",
            help="Show every environment of the project (chosen in the page), or only --env's.",
        ),
    ] = True,
) -> None:
    """Serve Basin's web UI until interrupted: runs with their steps and timeline,
    published tables with freshness and rows, quality results with failing rows and
    history, the lineage graph down to columns, catalog search and incidents.

    Read-only, from the metadata store; `basin serve` starts it too (web.serve)."""
    from basin.config import load_project
    from basin.web.serve import password_file, serve, site_for

    first = load_project(state.project, state.env)
    config = first.config.web
    names = [n for n in first.config.environments if n != first.env_name] if all_envs else []
    projects = [first, *(load_project(state.project, name) for name in names)]
    bind = host or config.host
    site = site_for(projects, host=bind)
    where = f"http://{'[' + bind + ']' if ':' in bind else bind}:{port or config.port}/"
    _say(f"[green]✓[/] Basin's web UI at [bold]{where}[/] (Ctrl-C stops)")
    if site.password is not None:
        _say(
            f"  listening beyond this machine: log in as admin, password in {password_file(first.root)}"
        )
    serve(site, host=bind, port=port or config.port)


bi_app = typer.Typer(
    help="Apache Superset over the published marts: serve it, keep its dashboards as code.",
    no_args_is_help=True,
)
app.add_typer(bi_app, name="bi")


def _bi_project() -> tuple[Project, Project]:
    """The project, and the environment Superset reads (--env, else bi.env, else default)."""
    from basin.config import load_project

    project = load_project(state.project, state.env)
    if state.env is None and project.config.bi.env not in (None, project.env_name):
        return project, load_project(state.project, project.config.bi.env)
    return project, project


@bi_app.command("serve")
def bi_serve(
    stop: Annotated[bool, typer.Option("--stop", help="Stop the Superset it started.")] = False,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply/--no-apply", help="Import the dashboards once it runs (as basin bi apply)."
        ),
    ] = True,
) -> None:
    """Start Superset on 127.0.0.1 (bi.port) for the published marts, installing it into
    its own virtualenv on first use (.basin/superset/venv; a few minutes once).

    The admin user is `admin`, its password generated into .basin/superset/admin-password.
    It then imports the project's dashboards (as `basin bi apply`, which you run again
    after changing them). `basin bi serve --stop` ends it."""
    from basin.bi.superset import server

    if stop:
        project, _ = _bi_project()
        _say(
            "[green]✓[/] stopped Superset"
            if server.stop(project.root)
            else "Superset is not running"
        )
        return
    project, env = _bi_project()
    with console.status("starting Superset (installing it on first use)…"):
        served = server.start(project)
    verb = "is already running" if served.already_running else "is running"
    _say(f"[green]✓[/] Superset {verb} at [bold]{served.url}[/]")
    _say(f"  user [bold]admin[/], password in {server.password_file(project.root)}")
    _say(f"  log in {served.log}; stop with [bold]basin bi serve --stop[/]")
    if apply:
        _import_dashboards(project, env, served.url, started=True)


@bi_app.command("check")
def bi_check() -> None:
    """Check the dashboards against the published marts without Superset: every chart's
    table is published and has every column the chart and the dashboard filters use.
    Run it in CI after `basin run` so a mart change cannot break a dashboard unseen."""
    from basin.bi.superset.assets import bundle

    project, env = _bi_project()
    platform = _platform_of(env)
    try:
        files, _ = bundle(project, env, platform.store)
    finally:
        platform.close()
    charts = sum(p.startswith("charts/") for p in files)
    dashboards = sum(p.startswith("dashboards/") for p in files)
    folder = project.project_path(project.config.bi.dashboards)
    if not folder.is_dir():
        _say(
            f"no dashboards yet: {folder} does not exist (build them in Superset, then "
            "`basin bi export` writes them there)"
        )
        return
    _say(
        f"[green]✓[/] {dashboards} dashboard(s) and {charts} chart(s) fit the published marts of {env.env_name}"
    )


@bi_app.command("apply")
def bi_apply() -> None:
    """Import the dashboards (the project's dashboards/ folder, plus a dataset per
    published table with the dbt descriptions) into the running Superset, overwriting
    what has the same uuids: run it again any time, it converges. Checks first, as
    `basin bi check` does, and imports nothing if a chart does not fit."""
    from basin.bi.superset import server

    project, env = _bi_project()
    served = server.running(project.root)
    if served is None:
        raise TerminalError(
            "Superset is not running for this project", hint="start it with: basin bi serve"
        )
    _import_dashboards(project, env, served.url)


def _import_dashboards(project: Project, env: Project, url: str, *, started: bool = False) -> None:
    """Check and import the dashboards; ``started``: Superset was just started for them
    (no dashboards folder is then fine, and a problem says Superset runs anyway)."""
    from basin.bi.superset import server
    from basin.bi.superset.assets import DashboardError, bundle
    from basin.bi.superset.client import Superset

    if started and not project.project_path(project.config.bi.dashboards).is_dir():
        return
    platform = _platform_of(env)
    try:
        files, passwords = bundle(project, env, platform.store)
    except DashboardError as exc:
        if not started:
            raise
        raise TerminalError(
            f"Superset runs at {url}, but the dashboards were not imported: {exc.message}",
            hint=exc.hint,
        ) from None
    finally:
        platform.close()
    with (
        server.exclusive(project.root),
        Superset(url, server.ADMIN, server.admin_password(project.root)) as client,
    ):
        client.import_assets(files, passwords)
    counts = {
        k: sum(p.startswith(k + "/") for p in files) for k in ("dashboards", "charts", "datasets")
    }
    _say(
        f"[green]✓[/] imported {counts['dashboards']} dashboard(s), {counts['charts']} chart(s) "
        f"and {counts['datasets']} dataset(s) of {env.env_name} into {url}"
    )


@bi_app.command("export")
def bi_export() -> None:
    """Write Superset's dashboards, charts and your own datasets into the project's
    dashboards/ folder (files of the same uuid rewritten in place), so what was built in
    the UI goes into git. Basin's generated database and datasets are left out."""
    from basin.bi.superset import server
    from basin.bi.superset.assets import write_export
    from basin.bi.superset.client import Superset

    project, _ = _bi_project()
    served = server.running(project.root)
    if served is None:
        raise TerminalError(
            "Superset is not running for this project", hint="start it with: basin bi serve"
        )
    with Superset(served.url, server.ADMIN, server.admin_password(project.root)) as client:
        written = write_export(project, client.export_assets())
    _say(
        f"[green]✓[/] wrote {len(written)} file(s) into {project.project_path(project.config.bi.dashboards)}"
    )


@app.command()
def failures(
    test: Annotated[
        str, typer.Argument(help="The test's name, or a part of it (e.g. accepted_values).")
    ],
) -> None:
    """Show why a quality check failed: its message, failing-row count and a sample of
    the failing rows, as recorded by the last run that ran it."""
    from basin.cli.render import render_failures
    from basin.quality.results import failures as failing

    found = _with_platform(lambda p: failing(p.store.check_results(), test))
    render_failures(console, test, found)
    if not found:
        raise typer.Exit(1)


@app.command()
def schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write it to this file instead of printing it."),
    ] = None,
) -> None:
    """Print the JSON Schema of basin.yml, for editors.

    With VS Code's YAML extension (or any editor using the YAML language server), a
    first line `# yaml-language-server: $schema=basin.schema.json` in basin.yml gives
    completion and checks of every key. `basin init` writes both; after upgrading
    Basin, refresh the file with `basin schema -o basin.schema.json`.
    """
    from basin.config.reference import json_schema_text

    text = json_schema_text()
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BasinError(
            f"cannot write {output}: {exc.strerror}",
            hint="give a file in an existing folder, e.g. --output basin.schema.json",
        ) from None
    _say(f"[green]✓[/] wrote the schema of basin.yml to {output}")


@app.command()
def doctor() -> None:
    """Check the config, versions, metadata store, warehouse, lake, dbt project and sources."""
    from basin.cli.render import render_doctor
    from basin.pipeline.doctor import run_checks

    checks = run_checks(state.project, state.env)
    render_doctor(console, checks)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the project in.")],
    name: Annotated[
        str | None, typer.Option(help="Project name (default: the folder's name).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Write into a folder that already has files.")
    ] = False,
) -> None:
    """Create a minimal working project: basin.yml, a sample file drop and a dbt project."""
    from basin.scaffold import create_project

    created = create_project(directory, name=name, force=force)
    _say(f"[green]✓[/] created project [bold]{created.name}[/] in {created.root}")
    _say(f"  next: [bold]cd {directory} && basin run[/], then [bold]basin status[/]")
    if any(p.name == "basin.yml" and p.parent.name == "workflows" for p in created.files):
        _say(
            "  CI: .github/workflows/basin.yml runs lint, doctor and a slim build on pull "
            "requests; see README.md before the first push"
        )


def command() -> Any:
    """The click command behind the app, its help tidied: a flag shows no value type
    (Typer prints ``<bool>`` after ``--wait``), an option's value its name (``SINCE``,
    not ``<str>``)."""
    import typer.main

    root = typer.main.get_command(app)
    todo: list[Any] = [root]  # Typer vendors its own click: read by interface
    while todo:
        cmd = todo.pop()
        ctx = cmd.context_class(cmd, info_name=cmd.name)
        params: list[Any] = [*cmd.params, cmd.get_help_option(ctx)]
        for param in params:
            if param is None or param.param_type_name != "option":
                continue
            if param.is_flag:
                param.metavar = ""
            elif param.metavar is None:
                param.metavar = (param.name or "value").upper()
        if hasattr(cmd, "list_commands"):
            todo += [cmd.get_command(ctx, name) for name in cmd.list_commands(ctx)]
    return root


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn Basin errors into messages and exit codes;
    then append the command to the project's audit log."""
    from basin.cli.reporting import uninstall

    state.command, state.error = None, None
    code: int | None = 0
    try:
        _run(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) or exc.code is None else 1
        raise
    finally:
        try:
            _audit(list(sys.argv[1:] if argv is None else argv), code or 0)
        finally:
            uninstall()


UNAUDITED = {"init", "schema"}
"""Commands without a project to log into."""


def _audit(args: list[str], code: int) -> None:
    """One audit log entry for the command just run (if it ran on a project)."""
    if state.command is None or state.command in UNAUDITED:
        return
    from basin.access.audit import record
    from basin.config import load_project

    try:
        project = load_project(state.project, state.env)
    except BasinError:
        return  # no project (or no valid one): nothing to log into
    outcome = {0: "success", 1: "failed", 2: "usage error", 130: "interrupted"}.get(
        code, f"failed (exit {code})"
    )
    record(project, state.command, args, outcome, detail=state.error)


def _run(argv: list[str] | None) -> None:
    try:
        code = command().main(args=argv, standalone_mode=False, prog_name="basin")
        # Without standalone mode click returns typer.Exit's code instead of exiting.
        if isinstance(code, int) and code:
            sys.exit(code)
    except BasinError as exc:
        _print_error(exc)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[red]aborted[/]")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]: finished steps are kept; run again to continue")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence for the user
        # Usage errors (unknown option, missing argument) come from the click that
        # Typer vendors; recognise them by their interface.
        if callable(getattr(exc, "show", None)) and isinstance(
            getattr(exc, "exit_code", None), int
        ):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if state.verbose:
            err_console.print_exception()
        else:
            from rich.markup import escape

            from basin.common.redaction import redact

            err_console.print(
                f"[red]internal error[/]: {type(exc).__name__}: {escape(redact(str(exc)))}\n"
                "  this is a bug in Basin; run again with --verbose for the traceback and report it"
            )
        sys.exit(70)


def _print_error(exc: BasinError) -> None:
    from rich.markup import escape

    cause: Any = getattr(exc, "cause", None)
    message = exc.message
    hint = exc.hint
    if cause is not None and isinstance(cause, BasinError):
        message = f"{message.split(': ', 1)[0]}: {cause.message}"
        hint = cause.hint or hint
    from basin.common.redaction import redact

    state.error = redact(message)
    if state.log_format == "json":
        log.error(
            message, extra={"hint": redact(hint) if hint else None, "exit_code": exc.exit_code}
        )
        return
    err_console.print(f"[red]error[/]: {escape(redact(message))}")
    if hint:
        err_console.print(f"  [yellow]hint[/]: {escape(redact(hint))}")
