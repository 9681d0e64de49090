"""``basin doctor``: check what a run needs and say what to fix."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from basin.common.errors import BasinError

if TYPE_CHECKING:
    from basin.config import Project


def _required(dist: str) -> tuple[str, str]:
    """Basin's own requirement on ``dist`` (from its package metadata, so pins are
    written once, in pyproject.toml): its specifier and the pip argument that meets it."""
    from packaging.requirements import Requirement

    for line in metadata.requires("basin") or []:
        req = Requirement(line)
        if req.name.lower() == dist.lower():
            return str(req.specifier), f"{req.name}{req.specifier}"
    return "", dist


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str | None = None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def run_checks(start: Path | None, env: str | None) -> list[Check]:
    """Every check, in order; stops early only when the config cannot be read."""
    from basin.config import load_project

    checks: list[Check] = []
    py = sys.version_info
    checks.append(
        Check(
            "python",
            "ok" if py >= (3, 11) else "fail",
            f"{py.major}.{py.minor}.{py.micro}",
            "use Python 3.11 or newer",
        )
    )
    try:
        project = load_project(start, env)
    except BasinError as exc:
        checks.append(Check("config", "fail", exc.message, exc.hint or "fix basin.yml as listed"))
        return checks
    checks.append(
        Check(
            "config",
            "ok",
            f"{project.root / 'basin.yml'} (project {project.config.project}, env {project.env_name})",
        )
    )
    checks += _secrets(project)
    checks += _versions(project.env.warehouse.engine)
    checks.append(_metadata(project))
    checks.append(_warehouse(project))
    checks.append(_lake(project))
    checks += _dbt_project(project)
    checks += _sources(project)
    schema = _editor_schema(project)
    if schema is not None:
        checks.append(schema)
    return checks


def _secrets(project: Project) -> list[Check]:
    """Each secret from a file or a secret store that resolved (a reference that did not
    fails the config check, naming it). Where and what, never the value."""
    return [
        Check(f"secret {where}", "ok", f"{reference} resolves ({provider})")
        for where, reference, provider in project.config._secrets
    ]


def _editor_schema(project: Project) -> Check | None:
    """The JSON Schema file editors read, if the project has one: is it current?"""
    from basin.config.reference import json_schema_text

    path = project.root / "basin.schema.json"
    if not path.is_file():
        return None
    if path.read_text(encoding="utf-8") == json_schema_text():
        return Check("editor schema", "ok", str(path))
    return Check(
        "editor schema",
        "warn",
        f"{path} is from another Basin version: editors check basin.yml against old keys",
        f"basin schema --output {path.name}",
    )


def _versions(engine: str) -> list[Check]:
    from packaging.specifiers import SpecifierSet

    why = {"duckdb": "; its extensions come from PyPI packages of that version"}
    out = []
    for dist in ("duckdb", "dbt-core", f"dbt-{engine}"):
        wanted, pip_arg = _required(dist)
        found = _version(dist)
        ok = found is not None and SpecifierSet(wanted).contains(found, prereleases=True)
        out.append(
            Check(
                dist,
                "ok" if ok else "fail",
                f"{found or 'not installed'} (Basin needs {wanted or 'any version'}"
                f"{why.get(dist, '')})",
                None if ok else f"pip install '{pip_arg}'",
            )
        )
    return out


def _metadata(project: Project) -> Check:
    from basin.metadata.store import MetadataStore

    url = project.metadata_url
    store = MetadataStore(url, env=project.env_name, schema=project.env.metadata.db_schema)
    try:
        current = store.current_revision()
        head = store.head_revision()
    except Exception as exc:  # noqa: BLE001 - any driver error is the finding
        return Check(
            "metadata store",
            "fail",
            f"{store.safe_url}: {str(exc).splitlines()[0]}",
            "check environments.<env>.metadata.url and that the database is running",
        )
    finally:
        store.close()
    if current is None:
        return Check(
            "metadata store", "ok", f"{store.safe_url} (empty: tables are created on the first run)"
        )
    if current != head:
        return Check(
            "metadata store",
            "warn",
            f"{store.safe_url} at revision {current}, newest is {head}",
            "the next basin command upgrades it",
        )
    return Check("metadata store", "ok", f"{store.safe_url} (revision {current})")


def _warehouse(project: Project) -> Check:
    from basin.pipeline.steps.transform import written_schemas
    from basin.warehouses.base import warehouse_for

    wh = warehouse_for(project)
    path = getattr(wh, "path", None)
    if path is not None and not path.exists():
        parent = path.parent
        while not parent.exists():
            parent = parent.parent
        if os.access(parent, os.W_OK):
            return Check("warehouse", "ok", f"{wh.identity} (created on the first load)")
        return Check(
            "warehouse",
            "fail",
            f"cannot create {path}",
            "make the folder writable or change warehouse.path",
        )
    try:
        wh.table_counts(wh.raw_schema)
        foreign = wh.foreign_schemas(written_schemas(project, wh))
    except BasinError as exc:
        return Check("warehouse", "fail", exc.message, exc.hint)
    if foreign:
        owners = " and ".join(dict.fromkeys(foreign.values()))
        return Check(
            "warehouse",
            "fail",
            f"{wh.identity}: schema(s) {', '.join(foreign)} belong to Basin {owners}; this "
            "environment would write into them",
            wh.rename_hint(list(foreign)),
        )
    return Check("warehouse", "ok", wh.identity)


def _lake(project: Project) -> Check:
    url = project.lake_url
    if url.startswith("s3://"):
        return _s3_lake(project)
    if "://" in url:
        return Check("lake", "ok", url)
    folder = Path(url)
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if os.access(probe, os.W_OK):
        return Check("lake", "ok", url)
    return Check("lake", "fail", f"{url} is not writable", "change environments.<env>.lake.url")


def _s3_lake(project: Project) -> Check:
    """The bucket answers with the AWS chain's credentials, to s3fs and to DuckDB."""
    from basin.lake.storage import Lake

    try:
        Lake.of(project).check()
    except BasinError as exc:
        return Check("lake", "fail", exc.message, exc.hint)
    return Check("lake", "ok", project.lake_url)


def _dbt_project(project: Project) -> list[Check]:
    """The dbt project parses, and builds into the schemas ``publish.schemas`` names."""
    from basin.pipeline.resources import Resources
    from basin.pipeline.steps.publish import unbuilt_schemas
    from basin.pipeline.steps.transform import DbtCall, dbt
    from basin.transform.runner import built_relations, dbt_profile_name

    try:
        profile = dbt_profile_name(project.dbt_project_dir)
    except BasinError as exc:
        return [Check("dbt project", "fail", exc.message, exc.hint)]
    # Its own artifacts folder: a build running meanwhile keeps reading its manifest.
    res = Resources(project, command="doctor")
    try:
        dbt(res, DbtCall("parse", "doctor", target="doctor"))
    except BasinError as exc:
        return [Check("dbt project", "fail", exc.message, exc.hint)]
    finally:
        res.close()
    built = built_relations(project.state_path("dbt") / "doctor")
    checks = [
        Check(
            "dbt project",
            "ok",
            f"{project.dbt_project_dir} (profile '{profile}' is generated; "
            f"{len(built)} relation(s) to build)",
        )
    ]
    schemas = list(project.config.publish.schemas)
    problem = unbuilt_schemas(schemas, res.warehouse.audit_suffix, built)
    if problem:
        checks.append(Check("publish.schemas", "fail", problem[0], problem[1]))
    else:
        checks.append(Check("publish.schemas", "ok", ", ".join(schemas)))
    return checks


def _sources(project: Project) -> list[Check]:
    out = []
    for name, source in project.config.sources.items():
        label = f"source {name}"
        if source.kind == "files":
            import fsspec

            url = source.path if "://" in source.path else str(project.project_path(source.path))
            fs, base = fsspec.core.url_to_fs(url)
            if not fs.exists(base):
                out.append(
                    Check(
                        label,
                        "warn",
                        f"{url} does not exist yet",
                        "drop files there, or fix sources.<name>.path",
                    )
                )
                continue
            counts = {
                e: len(fs.glob(f"{base.rstrip('/')}/{cfg.glob}"))
                for e, cfg in source.entities.items()
            }
            detail = ", ".join(f"{e}: {n} file(s)" for e, n in counts.items())
            empty = [e for e, n in counts.items() if n == 0]
            from basin.sources.files.extract import unknown_types

            for e, cfg in source.entities.items():
                for column, reason in unknown_types(cfg.columns or {}).items():
                    out.append(
                        Check(
                            f"{label}.{e}.{column}",
                            "fail",
                            reason,
                            f"fix sources.{name}.entities.{e}.columns.{column} in basin.yml "
                            "(e.g. DECIMAL(12,2), VARCHAR, TIMESTAMP)",
                        )
                    )
            out.append(
                Check(
                    label,
                    "warn" if empty else "ok",
                    f"{url} ({detail})",
                    "; ".join(
                        f"no file matches {source.entities[e].glob!r}: drop files there or fix "
                        f"sources.{name}.entities.{e}.glob"
                        for e in empty
                    )
                    or None,
                )
            )
        elif source.kind == "sqlite":
            path = project.project_path(source.path)
            if path.is_file():
                out.append(Check(label, "ok", f"sqlite {path}"))
            else:
                out.append(
                    Check(
                        label,
                        "fail",
                        f"SQLite file {path} does not exist",
                        "fix sources.<name>.path",
                    )
                )
        elif source.kind == "postgres":
            import psycopg

            try:
                with psycopg.connect(source.conninfo(), connect_timeout=5) as conn:
                    conn.execute("select 1")
                out.append(Check(label, "ok", source.display()))
            except psycopg.Error as exc:
                out.append(
                    Check(
                        label,
                        "fail",
                        f"{source.display()}: {str(exc).strip().splitlines()[0]}",
                        "check the connection settings (dsn/host/user/password) and that the server runs",
                    )
                )
        elif source.kind == "rest":
            services = [s.name for s in project.env.services]
            note = f" (started by Basin: {', '.join(services)})" if services else ""
            out.append(Check(label, "ok", f"{source.base_url}{note}"))
    return out
