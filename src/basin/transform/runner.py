"""Run dbt in-process against a profile Basin generates from ``basin.yml``.

Users never write ``profiles.yml`` for the defaults: Basin writes one per
environment under the state folder, and points dbt's target and log folders there
too, so the dbt project folder stays clean.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import yaml

from basin.common.errors import TransformError

# dbt phones home and checks for new versions; neither is reachable here and both
# would add seconds of timeouts to every build.
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DBT_VERSION_CHECK", "false")


@dataclass
class NodeResult:
    unique_id: str
    resource_type: str
    status: str
    message: str | None
    failures: int | None
    execution_time: float
    rows_affected: int | None = None
    compiled_code: str | None = None
    started_at: str | None = None
    """When dbt began executing the node (ISO 8601, UTC), for run timelines."""


@dataclass
class DbtRun:
    """What one dbt invocation did."""

    command: list[str]
    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    error: str | None = None

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in {"error", "fail", "runtime error"}]

    @property
    def warned(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status == "warn"]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes:
            out[n.status] = out.get(n.status, 0) + 1
        return out


def _manifest_nodes(target_dir: Path, part: str = "nodes") -> dict[str, Any]:
    """The nodes (or another ``part``) of dbt's ``manifest.json`` in ``target_dir``
    (none without one)."""
    manifest = target_dir / "manifest.json"
    if not manifest.exists():
        return {}
    try:
        nodes = json.loads(manifest.read_text(encoding="utf-8")).get(part, {})
    except (ValueError, AttributeError) as exc:
        raise TransformError(
            f"dbt's manifest {manifest} cannot be read: {exc}",
            hint="it is rewritten by the next build: run `basin transform` (or delete it)",
        ) from None
    return nodes if isinstance(nodes, dict) else {}


def built_relations(target_dir: Path) -> set[tuple[str, str]]:
    """``(schema, name)`` of every relation the project in ``target_dir``'s manifest
    makes (models, seeds, snapshots, stored test failures; ephemeral models make none),
    lower-cased."""
    nodes = _manifest_nodes(target_dir)
    return {
        (str(n["schema"]).lower(), str(n.get("alias") or n["name"]).lower())
        for n in nodes.values()
        if n.get("schema") and _makes_relation(n)
    }


def source_schemas(target_dir: Path) -> dict[str, str]:
    """``source.table`` → the schema dbt reads it from, per ``target_dir``'s manifest."""
    sources = _manifest_nodes(target_dir, "sources")
    return {
        f"{s['source_name']}.{s['name']}": str(s.get("schema") or "").lower()
        for s in sources.values()
    }


def pii_columns(target_dir: Path) -> dict[tuple[str, str], dict[str, str]]:
    """``(schema, relation)`` → ``{column: PII tag}`` of the models in ``target_dir``'s
    manifest whose columns carry dbt ``meta: {pii: <tag>}`` (``pii: true`` → ``true``),
    lower-cased names."""
    nodes = _manifest_nodes(target_dir)
    out: dict[tuple[str, str], dict[str, str]] = {}
    for n in nodes.values():
        if n.get("resource_type") not in ("model", "snapshot", "seed") or not _makes_relation(n):
            continue
        tags = {}
        for name, column in (n.get("columns") or {}).items():
            meta = {**(column.get("config", {}).get("meta") or {}), **(column.get("meta") or {})}
            tag = meta.get("pii")
            if tag not in (None, False):
                tags[str(name).lower()] = str(tag).lower()
        if tags:
            out[(str(n["schema"]).lower(), str(n.get("alias") or n["name"]).lower())] = tags
    return out


def _makes_relation(node: dict[str, Any]) -> bool:
    config = node.get("config", {})
    kind = node.get("resource_type")
    if kind in ("test", "unit_test"):
        return bool(config.get("store_failures") or config.get("store_failures_as"))
    # Hooks (operations), analyses and sql operations carry a schema but make nothing.
    return kind in ("model", "seed", "snapshot") and config.get("materialized") != "ephemeral"


def dbt_profile_name(project_dir: Path) -> str:
    """The ``profile:`` that ``dbt_project.yml`` asks for."""
    path = project_dir / "dbt_project.yml"
    if not path.is_file():
        raise TransformError(
            f"no dbt_project.yml in {project_dir}",
            hint="set dbt.project_dir in basin.yml to the folder of your dbt project",
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    name = data.get("profile")
    if not name:
        raise TransformError(
            f"{path} has no `profile:` key",
            hint="add `profile: <name>` to dbt_project.yml; Basin generates that profile",
        )
    return str(name)


def write_profiles(dest_dir: Path, profile: str, target_name: str, target: dict[str, Any]) -> Path:
    """Write ``profiles.yml`` with one profile and one output."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / "profiles.yml"
    content = {profile: {"target": target_name, "outputs": {target_name: target}}}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        "# Generated by Basin from basin.yml; edits are overwritten.\n"
        + yaml.safe_dump(content, sort_keys=False),
        encoding="utf-8",
    )
    os.replace(tmp, path)
    return path


def import_dbt_ahead() -> None:
    """Import dbt in a background thread (≈ 1.7 s of imports, measured) while the
    steps before the build run: the build's own import then finds it done, or waits
    for it (Python's import locks). A failed import is left to the build to report."""
    import threading

    def load() -> None:
        try:
            import dbt.cli.main  # noqa: F401
        except Exception:  # noqa: BLE001, S110 - the build imports it again and says why
            pass

    threading.Thread(target=load, name="basin-import-dbt", daemon=True).start()


def run_dbt(
    command: str,
    *,
    project_dir: Path,
    profiles_dir: Path,
    target_name: str,
    state_dir: Path,
    select: list[str] | None = None,
    extra_args: list[str] | None = None,
    verbose: bool = False,
    on_node: Callable[[str, int, int], None] | None = None,
    target: str = "target",
) -> DbtRun:
    """Invoke ``dbt <command>`` in this process and collect per-node results.

    Args:
        on_node: called as ``on_node(unique_id, done, total)`` after each node.
        target: the folder of ``state_dir`` dbt writes its artifacts to.
    """
    from dbt.cli.main import dbtRunner

    args = [
        *command.split(),  # "build", or a sub-command such as "docs generate"
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles_dir),
        "--target",
        target_name,
        "--target-path",
        str(state_dir / target),
        "--log-path",
        str(state_dir / "logs"),
    ]
    if not verbose:
        # dbt's file log defaults to debug: every statement and event of every node
        # formatted and written (2 MB for a day of the reference platform, ≈ 5% of a
        # small build's time). Info keeps each node's outcome and every error;
        # --verbose keeps the debug file.
        args += ["--quiet", "--log-level-file", "info"]
    import sys

    if not sys.stdout.isatty():
        args.append("--no-use-colors")  # no escape codes in logs, pipes and files
    if select:
        args += ["--select", *select]
    args += extra_args or []

    runner = dbtRunner(callbacks=[_NodeProgress(on_node)] if on_node else [])
    outcome = runner.invoke(args)
    run = DbtRun(command=args, success=bool(outcome.success))
    if outcome.exception is not None:
        run.error = f"{type(outcome.exception).__name__}: {outcome.exception}"
    run.nodes = [_node_result(r) for r in getattr(outcome.result, "results", None) or []]
    return run


# dbt events that carry the number of nodes the invocation will run.
COUNTING_EVENTS = frozenset(
    {"LogStartLine", "LogTestResult", "LogModelResult", "LogSnapshotResult", "LogSeedResult"}
)


class _NodeProgress:
    """A dbt event callback calling ``on_node(unique_id, done, total)`` per finished node."""

    def __init__(self, on_node: Callable[[str, int, int], None]) -> None:
        self.on_node = on_node
        self.done = 0
        self.total = 0

    def __call__(self, event: Any) -> None:
        name, data = event.info.name, event.data
        if name in COUNTING_EVENTS:
            self.total = max(self.total, int(getattr(data, "total", 0) or 0))
        if name == "NodeFinished":
            self.done += 1
            self.on_node(data.node_info.unique_id, self.done, self.total)


def _node_result(r: Any) -> NodeResult:
    node = getattr(r, "node", None)
    adapter = getattr(r, "adapter_response", None) or {}
    return NodeResult(
        unique_id=getattr(node, "unique_id", "?"),
        resource_type=str(getattr(node, "resource_type", "?")),
        status=str(getattr(r.status, "value", r.status)),
        message=getattr(r, "message", None),
        failures=getattr(r, "failures", None),
        execution_time=float(getattr(r, "execution_time", 0.0) or 0.0),
        rows_affected=adapter.get("rows_affected") if isinstance(adapter, dict) else None,
        compiled_code=getattr(node, "compiled_code", None),
        started_at=_execute_started(r),
    )


def _execute_started(r: Any) -> str | None:
    """The start of the node's ``execute`` phase, as dbt timed it."""
    for timing in getattr(r, "timing", None) or []:
        if getattr(timing, "name", None) == "execute" and getattr(timing, "started_at", None):
            started = timing.started_at
            if started.tzinfo is None:  # dbt records naive UTC times
                started = started.replace(tzinfo=UTC)
            return str(started.isoformat())
    return None
