"""Dashboards as code: the project's ``dashboards/`` folder plus what Basin generates,
as one Superset asset bundle.

The folder holds Superset's own export format (YAML keyed by uuid) for charts and
dashboards, and for any dataset of your own (virtual, SQL). Basin generates the rest
on every ``basin bi apply``:

- the database: the published DuckDB snapshot, read-only with external file access
  off and the configuration locked (so SQL Lab cannot read host files or undo it), or
  the PostgreSQL warehouse as ``bi.user``;
- one dataset per published table, with the dbt model's description and column
  descriptions, under a uuid derived from the table's name — the same in every
  environment and on every machine.

A chart names its table with ``dataset: marts.customer_360`` (Basin's one addition to
the format; ``basin bi export`` writes it back so). Before anything is imported, every
column a chart or a dashboard filter uses is checked against the table's published
columns: a mart change that would break a dashboard fails ``basin bi check`` in CI,
naming the chart and the column.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from basin.common.errors import TerminalError
from basin.config.project import Project

NAMESPACE = uuid.UUID("6f0a7a52-3c1e-4c8e-9a57-8d1f3b0c2b11")
DATABASE_FILE = "databases/basin.yaml"


class DashboardError(TerminalError):
    """A chart or dashboard in ``dashboards/`` does not fit the published marts."""


def _uuid(project: Project, kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{project.config.project}:{kind}:{name}"))


def database_uuid(project: Project) -> str:
    return _uuid(project, "database", "warehouse")


def dataset_uuid(project: Project, table: str) -> str:
    return _uuid(project, "dataset", table)


@dataclass
class Table:
    """A published table as Superset sees it."""

    schema: str
    name: str
    columns: list[tuple[str, str, str | None]]
    description: str | None = None

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


def published_tables(project: Project, store: Any) -> dict[str, Table]:
    """The published tables with their columns, from the catalog the runs recorded
    (published columns; descriptions from the dbt model of the same name)."""
    entries = {d.key: d for d in store.datasets()}
    tables = {}
    for key, entry in entries.items():
        if entry.kind != "published" or not key.startswith("published."):
            continue
        name = key.removeprefix("published.")
        schema, _, table = name.partition(".")
        # The dbt model it was published from: built in the schema itself (DuckDB) or
        # in its audit schema (PostgreSQL, Snowflake).
        suffix = getattr(project.env.warehouse, "audit_suffix", "")
        model = entries.get(name) or entries.get(f"{schema}{suffix}.{table}")
        described = {
            c[0]: c[2] for c in json.loads(model.columns or "[]") if len(c) > 2 and c[2]
        } if model else {}  # fmt: skip
        columns = [
            (
                c[0],
                c[1] if len(c) > 1 else "",
                (c[2] if len(c) > 2 else None) or described.get(c[0]),
            )
            for c in json.loads(entry.columns or "[]")
        ]
        tables[name] = Table(schema, table, columns, (model.description if model else None))
    return tables


def _is_time(type_name: str) -> bool:
    return bool(re.search(r"date|time", type_name, re.IGNORECASE))


def database_asset(project: Project, env: Project) -> tuple[dict[str, Any], dict[str, str]]:
    """The database YAML and the passwords to import it with."""
    warehouse = env.env.warehouse
    base: dict[str, Any] = {
        "database_name": f"{project.config.project} (basin)",
        "uuid": database_uuid(project),
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "version": "1.0.0",
    }
    if warehouse.engine == "duckdb":
        from basin.warehouses.duckdb.publish import MASKED_FILE, PUBLISHED_FILE

        # Readers without PII see the masked copy when masking is configured.
        file = MASKED_FILE if project.config.access.masking else PUBLISHED_FILE
        path = env.publish_dir / file
        base["sqlalchemy_uri"] = f"duckdb:///{path}"
        base["extra"] = {
            "engine_params": {
                "connect_args": {
                    "read_only": True,
                    "config": {"enable_external_access": False, "lock_configuration": True},
                }
            }
        }
        return base, {}
    if warehouse.engine == "postgres":
        from psycopg.conninfo import conninfo_to_dict

        name = _bi_user(project)
        password = project.config.access.users[name].password
        where = conninfo_to_dict(warehouse.conninfo())
        # The password travels beside the YAML (Superset's import "passwords"), never in it.
        login = f"{name}:XXXXXXXXXX" if password is not None else name
        base["sqlalchemy_uri"] = (
            f"postgresql+psycopg2://{login}@{where.get('host', '127.0.0.1')}:"
            f"{where.get('port', 5432)}/{where.get('dbname', 'postgres')}"
        )
        passwords = {DATABASE_FILE: password.get_secret_value()} if password is not None else {}
        options = " ".join(
            x
            for x in ("-c default_transaction_read_only=on", warehouse.workloads.bi.options())
            if x
        )
        base["extra"] = {"engine_params": {"connect_args": {"options": options}}}
        return base, passwords
    raise TerminalError(
        f"Superset on a {warehouse.engine} warehouse is not supported by Basin yet",
        hint="use DuckDB or PostgreSQL for bi.env",
    )


def _bi_user(project: Project) -> str:
    """The warehouse user Superset logs in as: ``bi.user``, else the one service user
    holding the built-in ``basin_bi`` role (read-only on the published schemas)."""
    users = project.config.access.users
    name = project.config.bi.user
    if name is None:
        holders = [
            u for u, cfg in users.items() if cfg.kind == "service" and "basin_bi" in cfg.roles
        ]
        name = holders[0] if len(holders) == 1 else None
    if name is None or name not in users:
        raise TerminalError(
            "Superset needs a read-only user of the PostgreSQL warehouse"
            + (f": bi.user {name!r} is not in access.users" if name else ""),
            hint="declare a service user with the built-in basin_bi role (it reads the "
            "published schemas) and create it with `basin access apply`:\n"
            "  access:\n    users:\n      superset: {kind: service, roles: [basin_bi], "
            "password: '${env:SUPERSET_DB_PASSWORD}'}\n"
            "(with several such users, name one in bi.user)",
        )
    return name


def dataset_asset(project: Project, table: Table) -> dict[str, Any]:
    time_columns = [c[0] for c in table.columns if _is_time(c[1])]
    return {
        "table_name": table.name,
        "schema": table.schema,
        "description": table.description,
        "main_dttm_col": time_columns[0] if time_columns else None,
        "uuid": dataset_uuid(project, table.key),
        "database_uuid": database_uuid(project),
        "filter_select_enabled": True,
        "metrics": [
            {
                "metric_name": "count",
                "verbose_name": "COUNT(*)",
                "metric_type": "count",
                "expression": "COUNT(*)",
            }
        ],  # fmt: skip
        "columns": [
            {
                "column_name": name,
                "type": type_name,
                "description": description,
                "is_dttm": _is_time(type_name),
                "is_active": True,
                "groupby": True,
                "filterable": True,
            }
            for name, type_name, description in table.columns
        ],
        "version": "1.0.0",
    }


@dataclass
class Folder:
    """The YAML files of ``dashboards/``: path → parsed document."""

    root: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_folder(root: Path) -> Folder:
    folder = Folder(root)
    if not root.is_dir():
        return folder
    for path in sorted(root.rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DashboardError(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(doc, dict):
            raise DashboardError(f"{path} is not a Superset asset (a YAML mapping)")
        folder.files[rel] = doc
    return folder


# Keys of a chart's params that hold column names (alone or in lists).
COLUMN_KEYS = {
    "groupby", "columns", "all_columns", "x_axis", "series", "entity", "granularity_sqla",
    "all_columns_x", "all_columns_y", "groupbyColumns", "groupbyRows", "order_by_cols",
    "temporal_columns_lookup", "x", "y", "size", "source", "target", "dimension",
}  # fmt: skip


def _columns_in(value: Any, key: str | None = None) -> set[str]:
    """Column names a chart's params refer to (SQL expressions are not parsed)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if value.get("expressionType") == "SQL" or "sqlExpression" in value:
            return found
        if isinstance(value.get("column_name"), str):
            found.add(value["column_name"])
        if value.get("expressionType") == "SIMPLE" and isinstance(value.get("subject"), str):
            found.add(value["subject"])  # an adhoc filter
        for k, v in value.items():
            found |= _columns_in(v, k)
    elif isinstance(value, list):
        for v in value:
            found |= _columns_in(v, key)
    elif isinstance(value, str) and key in COLUMN_KEYS:
        found.add(value)
    return found


def _metrics_in(params: dict[str, Any]) -> set[str]:
    """Saved metrics a chart names (plain strings among its metrics)."""
    names = params.get("metrics") or []
    if params.get("metric") is not None:
        names = [*names, params["metric"]]
    return {m for m in names if isinstance(m, str)}


def bundle(project: Project, env: Project, store: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Everything ``basin bi apply`` imports — ``({path: yaml}, passwords)`` — after
    checking every chart and dashboard filter against the published tables.

    Raises:
        DashboardError: a chart names a table that is not published or a column the
            table does not have (all such problems, each with the chart named).
    """
    tables = published_tables(env, store)
    if not tables:
        raise DashboardError(
            f"nothing is published in environment {env.env_name} yet",
            hint=f"run the platform first: basin --env {env.env_name} run",
        )
    folder = read_folder(project.project_path(project.config.bi.dashboards))
    database, passwords = database_asset(project, env)
    files: dict[str, str] = {
        "metadata.yaml": yaml.safe_dump({"version": "1.0.0", "type": "assets"}),
        DATABASE_FILE: yaml.safe_dump(database, sort_keys=False),
    }
    by_uuid: dict[str, tuple[str, set[str], set[str]]] = {}  # uuid → (name, columns, metrics)
    for table in tables.values():
        asset = dataset_asset(project, table)
        files[f"datasets/basin/{table.schema}__{table.name}.yaml"] = yaml.safe_dump(
            asset, sort_keys=False
        )
        by_uuid[asset["uuid"]] = (table.key, {c[0] for c in table.columns}, {"count"})
    for path, doc in folder.files.items():
        if path.startswith("datasets/"):
            columns = {str(c.get("column_name")) for c in doc.get("columns") or []}
            metrics = {str(m.get("metric_name")) for m in doc.get("metrics") or []}
            by_uuid[str(doc.get("uuid"))] = (str(doc.get("table_name")), columns, metrics)
    problems: list[str] = []
    for path, doc in folder.files.items():
        if path.startswith("charts/"):
            doc = dict(doc)
            name = doc.get("dataset")
            if name is not None:
                if name not in tables:
                    problems.append(
                        f"chart {doc.get('slice_name')!r} ({path}) reads {name}, which is not "
                        f"published (published: {', '.join(sorted(tables))})"
                    )
                    continue
                doc["dataset_uuid"] = dataset_uuid(project, str(name))
                del doc["dataset"]
            target = by_uuid.get(str(doc.get("dataset_uuid")))
            if target is None:
                problems.append(
                    f"chart {doc.get('slice_name')!r} ({path}) has no dataset: give it "
                    "`dataset: <schema>.<table>` of a published table"
                )
                continue
            table_name, columns, metrics = target
            params = doc.get("params") or {}
            for column in sorted(_columns_in(params) - columns):
                problems.append(
                    f"chart {doc.get('slice_name')!r} ({path}) uses column {column!r}, "
                    f"which {table_name} does not have (it has: {_listed(columns)})"
                )
            for metric in sorted(_metrics_in(params) - metrics):
                problems.append(
                    f"chart {doc.get('slice_name')!r} ({path}) uses metric {metric!r}, "
                    f"which {table_name} does not define"
                )
            files[path] = yaml.safe_dump(doc, sort_keys=False)
        elif path.startswith("dashboards/"):
            doc = json.loads(json.dumps(doc))  # a copy to resolve table names in
            # Superset maps charts by the ids of the instance exported from; a dashboard
            # written by hand has none, and import needs one per chart (any, distinct).
            for number, child in enumerate((doc.get("position") or {}).values(), 1):
                if isinstance(child, dict) and child.get("type") == "CHART":
                    child.setdefault("meta", {}).setdefault("chartId", number)
            metadata = doc.get("metadata") or {}
            for native in metadata.get("native_filter_configuration") or []:
                for aim in native.get("targets") or []:
                    if "dataset" in aim:  # Basin's addition: the table, not its uuid
                        if aim["dataset"] not in tables:
                            problems.append(
                                f"dashboard {doc.get('dashboard_title')!r} ({path}): filter "
                                f"{native.get('name')!r} reads {aim['dataset']}, which is "
                                "not published"
                            )
                            continue
                        aim["datasetUuid"] = dataset_uuid(project, str(aim.pop("dataset")))
                    used = (aim.get("column") or {}).get("name")
                    dataset = by_uuid.get(str(aim.get("datasetUuid")))
                    if used and dataset and used not in dataset[1]:
                        problems.append(
                            f"dashboard {doc.get('dashboard_title')!r} ({path}): filter "
                            f"{native.get('name')!r} uses column {used!r}, which "
                            f"{dataset[0]} does not have"
                        )
            files[path] = yaml.safe_dump(doc, sort_keys=False)
        else:
            files[path] = yaml.safe_dump(doc, sort_keys=False)
    if problems:
        raise DashboardError(
            f"{len(problems)} problem(s) in {folder.root}:\n  " + "\n  ".join(problems),
            hint="change the chart (or add the column back to the mart), then run "
            "`basin bi check` again",
        )
    return files, passwords


def _listed(names: set[str], most: int = 12) -> str:
    shown = sorted(names)[:most]
    return ", ".join(shown) + (f", … ({len(names) - most} more)" if len(names) > most else "")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "untitled"


def write_export(project: Project, exported: dict[str, str]) -> list[Path]:
    """Write Superset's charts, dashboards and own datasets into ``dashboards/``: the
    file of an asset already there (same uuid) is rewritten in place; Basin's generated
    database and datasets are left out, and charts on them name their table."""
    root = project.project_path(project.config.bi.dashboards)
    existing = {str(doc.get("uuid")): root / path for path, doc in read_folder(root).files.items()}
    generated: dict[str, str] = {}
    for path, text in exported.items():
        if path.startswith("datasets/"):
            doc = yaml.safe_load(text)
            key = f"{doc.get('schema')}.{doc.get('table_name')}"
            if str(doc.get("uuid")) == dataset_uuid(project, key):
                generated[str(doc["uuid"])] = key
    written = []
    for path, text in sorted(exported.items()):
        kind = path.split("/", 1)[0]
        if kind not in ("charts", "dashboards", "datasets"):
            continue
        doc = yaml.safe_load(text)
        if kind == "datasets" and str(doc.get("uuid")) in generated:
            continue
        if kind == "charts" and str(doc.get("dataset_uuid")) in generated:
            doc = {**doc, "dataset": generated[str(doc["dataset_uuid"])]}
            del doc["dataset_uuid"]
        if kind == "dashboards":
            for native in (doc.get("metadata") or {}).get("native_filter_configuration") or []:
                for aim in native.get("targets") or []:
                    if str(aim.get("datasetUuid")) in generated:
                        aim["dataset"] = generated[str(aim.pop("datasetUuid"))]
        title = doc.get("slice_name") or doc.get("dashboard_title") or doc.get("table_name")
        target = existing.get(str(doc.get("uuid")))
        if target is None:
            target = root / kind / f"{_slug(str(title))}.yaml"
            if target.exists():
                target = root / kind / f"{_slug(str(title))}_{str(doc.get('uuid'))[:8]}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        written.append(target)
    return written
