"""What each step tells lineage: OpenLineage events, catalog entries and lineage edges.

The façade calls one method per step; this module decides the datasets' names:

- ``source.<source>.<entity>``: what an entity is read from;
- ``lake.<source>.<entity>``: its batches in the lake;
- ``<schema>.<table>``: a relation of the pipeline warehouse (``raw.crm__customers``,
  dbt's models and snapshots);
- ``published.<schema>.<table>``: what BI reads.

Extract, load and publish copy columns one to one (load adds Basin's own columns);
dbt models get their column lineage from the compiled SQL (``columns.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basin.lineage.events import PRODUCER, DatasetRef, Lineage, StepLineage, run_uuid

if TYPE_CHECKING:
    from basin.config import Project
    from basin.lake.manifest import Manifest
    from basin.lake.storage import Lake
    from basin.metadata.store import MetadataStore
    from basin.warehouses.base import Warehouse


class Tracker:
    """Lineage of one project environment."""

    def __init__(
        self,
        project: Project,
        store: MetadataStore,
        lake: Lake,
        warehouse: Warehouse,
        lineage: Lineage,
    ) -> None:
        self.project = project
        self.store = store
        self.lake = lake
        self.warehouse = warehouse
        self.events = lineage
        self.env = project.env_name

    # --- names -----------------------------------------------------------------------

    def lake_dataset(self, source: str, entity: str) -> tuple[str, str]:
        from basin.lake.storage import BRONZE

        path = self.lake.path(BRONZE, source, entity)
        if self.lake.is_local:
            return "file", path
        scheme = self.lake.url.split("://", 1)[0]
        bucket, _, key = path.partition("/")
        return f"{scheme}://{bucket}", key

    # --- steps -----------------------------------------------------------------------

    def extracted(
        self,
        step: StepLineage,
        run_id: str,
        source: str,
        entity: str,
        manifest: Manifest | None,
    ) -> None:
        """An entity was extracted into a batch (``manifest``; None: nothing new)."""
        if manifest is None:
            return
        columns = [(c["name"], c["type"]) for c in manifest.columns]
        src_ns, src_name = step.inputs[0].namespace, step.inputs[0].name
        lake_ns, lake_name = self.lake_dataset(source, entity)
        step.inputs[0].columns = columns
        step.outputs.append(DatasetRef(lake_ns, lake_name, columns, rows=manifest.row_count))
        source_key, lake_key = f"source.{source}.{entity}", f"lake.{source}.{entity}"
        config = self.project.config.sources[source]
        self.store.record_datasets(
            [
                {
                    "key": source_key,
                    "kind": "source",
                    "namespace": src_ns,
                    "name": src_name,
                    "columns": columns,
                    "description": getattr(config, "description", None),
                    "run_id": run_id,
                },
                {
                    "key": lake_key,
                    "kind": "lake",
                    "namespace": lake_ns,
                    "name": lake_name,
                    "columns": columns,
                    "rows": self.store.lake_rows(source, entity),
                    "run_id": run_id,
                },
            ],
        )
        self.store.replace_lineage(lake_key, "extract", _copy_edges(source_key, columns))

    def loaded(
        self, step: StepLineage, run_id: str, manifest: Manifest, table: str, rows: int
    ) -> None:
        """A batch went into a raw table (``schema.table``)."""
        schema, _, name = table.rpartition(".")
        lake_ns, lake_name = self.lake_dataset(manifest.source, manifest.entity)
        columns = [(c["name"], c["type"]) for c in manifest.columns]
        step.inputs.append(DatasetRef(lake_ns, lake_name, columns))
        ns, ol_name = self.warehouse.lineage_dataset(schema or "raw", name)
        step.outputs.append(DatasetRef(ns, ol_name, columns, rows=rows))
        key = f"{schema or 'raw'}.{name}"
        self.store.record_dataset(
            key, kind="raw", namespace=ns, name=ol_name, columns=columns, run_id=run_id
        )
        upstream = f"lake.{manifest.source}.{manifest.entity}"
        self.store.replace_lineage(key, "load", _copy_edges(upstream, columns))

    def transformed(
        self,
        run_id: str,
        run_job: str,
        dbt_job: str,
        dbt_project: Path,
        profile: str,
        target_dir: Path,
        records: list[dict[str, Any]],
    ) -> list[str]:
        """After a dbt invocation: its per-node events, column lineage, catalog entries
        and the gate's event for the check ``records``. dbt's node events are children
        of ``dbt_job`` (transform, check), the gate's of ``run_job`` (the command).
        Returns the models whose SQL could not be traced."""
        manifest_path = target_dir / "manifest.json"
        if not manifest_path.exists():
            return []
        manifest = json.loads(manifest_path.read_text())
        with _no_cyclic_gc(), self.warehouse.reading():
            traced, untraced = self._column_lineage(manifest, run_id)
            self._dbt_events(run_id, dbt_job, dbt_project, profile, target_dir, traced, manifest)
            self._gate(run_id, run_job, records, manifest)
        return untraced

    def _gate(
        self, run_id: str, parent_job: str, records: list[dict[str, Any]], manifest: dict[str, Any]
    ) -> None:
        """The quality gate as its own job: each checked model is an input with a
        data-quality-assertions facet (one assertion per check)."""
        if not self.events.enabled or not records:
            return
        from openlineage.client.facet_v2 import data_quality_assertions_dataset as dqa

        from basin.lineage.columns import relation_of

        by_name = {
            n["name"]: relation_of(n)
            for n in manifest.get("nodes", {}).values()
            if n.get("resource_type") in ("model", "snapshot", "seed")
        }
        assertions: dict[tuple[str, str], list[Any]] = {}
        for r in records:
            relation = by_name.get(r.get("model") or "")
            if relation is None or r["status"] == "skipped":
                continue
            assertions.setdefault(relation, []).append(
                dqa.Assertion(
                    assertion=r["name"],
                    success=r["status"] == "pass",
                    column=r.get("column_name"),
                    severity=r.get("severity"),
                )
            )
        with self.events.step("gate", run_id, parent_job) as step:
            for (schema, table), checks in sorted(assertions.items()):
                ns, name = self.warehouse.lineage_dataset(schema, table)
                step.inputs.append(
                    DatasetRef(
                        ns,
                        name,
                        facets={
                            "dataQualityAssertions": dqa.DataQualityAssertionsDatasetFacet(
                                assertions=checks
                            )
                        },
                    )
                )

    def published(
        self, step: StepLineage, run_id: str, tables: dict[str, int], audit_schemas: dict[str, str]
    ) -> None:
        """``tables`` (``schema.table`` → rows) were published from ``audit_schemas``
        (published schema → the schema dbt built it in)."""
        # Read after the publication: the published schema holds the tables now (on
        # PostgreSQL the audit schema is gone after the swap; on Snowflake it holds the
        # previous publication).
        published = {q.partition(".")[0] for q in tables}
        built = self.warehouse.columns(sorted(published | set(audit_schemas.values())))
        entries: list[dict[str, Any]] = []
        lineages = []
        for qualified, rows in tables.items():
            schema, _, table = qualified.partition(".")
            audit = audit_schemas.get(schema, schema)
            columns = built.get((schema, table)) or built.get((audit, table), [])
            in_ns, in_name = self.warehouse.lineage_dataset(audit, table)
            out_ns, out_name = self.warehouse.published_dataset(schema, table)
            step.inputs.append(DatasetRef(in_ns, in_name, columns))
            step.outputs.append(DatasetRef(out_ns, out_name, columns, rows=rows))
            key = f"published.{schema}.{table}"
            entries.append(
                {
                    "key": key,
                    "kind": "published",
                    "namespace": out_ns,
                    "name": out_name,
                    "columns": columns,
                    "rows": rows,
                    "run_id": run_id,
                }
            )
            lineages.append((key, "publish", _copy_edges(f"{audit}.{table}", columns)))
        self.store.record_datasets(entries)
        self.store.replace_lineages(lineages)

    # --- helpers ---------------------------------------------------------------------

    def _column_lineage(
        self, manifest: dict[str, Any], run_id: str
    ) -> tuple[dict[str, Any], list[str]]:
        """Catalog entries, table edges and column lineage of every model, in one pass
        (they share the warehouse's columns and row counts, read once); returns the
        traced models by OpenLineage name and the ones that could not be traced."""
        from basin.lineage import columns as cl

        models = list(cl.dbt_models(manifest))
        seeds = [n for n in manifest.get("nodes", {}).values() if n.get("resource_type") == "seed"]
        schemas = sorted(
            {str(n["schema"]) for n in [*models, *seeds]}
            | {str(s["schema"]) for s in manifest.get("sources", {}).values()}
        )
        built = self.warehouse.columns(schemas)
        by_relation = {(s.lower(), t.lower()): cols for (s, t), cols in built.items()}
        catalog_of = cl.catalogs(manifest)
        mapping = cl.sql_schema(catalog_of, built)
        dialect = cl.DIALECTS.get(self.warehouse.ENGINE, self.warehouse.ENGINE)
        schema, untraceable = cl.mapping_schema(mapping, dialect)
        cache = cl.LineageCache(
            self.project.state_path("lineage") / "columns-cache.json", mapping, dialect
        )
        trace = self.project.config.lineage.column_lineage
        raw_tables = [cl.relation_of(n) for n in manifest.get("sources", {}).values()]
        rows = self.warehouse.row_counts(
            [cl.relation_of(n) for n in [*models, *seeds]] + raw_tables
        )
        traced: dict[str, Any] = {}
        untraced: list[str] = list(untraceable)
        entries: list[dict[str, Any]] = []
        lineages: list[tuple[str, str, list[tuple[str | None, str, str | None]]]] = []
        for node in models:
            relation = cl.relation_of(node)
            key = f"{relation[0]}.{relation[1]}"
            ns, ol_name = self.warehouse.lineage_dataset(relation[0], relation[1])
            entries.append(
                _catalog_entry(node, key, ns, ol_name, by_relation.get(relation, []))
                | {"rows": rows.get(relation), "run_id": run_id}
            )
            upstream = [
                k
                for u in node.get("depends_on", {}).get("nodes", [])
                if (k := _relation_key(manifest, u))
            ]
            edges: list[tuple[str | None, str, str | None]] = [(None, u, None) for u in upstream]
            if trace:
                sql = node["compiled_code"]
                result = cache.get(sql, relation)
                if result is None:
                    result = cl.model_lineage(sql, relation, schema, dialect)
                    cache.put(sql, result)
                if result.error:
                    untraced.append(f"{node['unique_id']}: {result.error}")
                for column, sources in result.columns.items():
                    edges += [(column, f"{s}.{t}", c) for (s, t), c in sources]
                traced[ol_name.lower()] = result
            lineages.append((key, "transform", edges))
        if trace:
            cache.save()
        for seed in seeds:
            # A seed is a table loaded from a file of the dbt project: the file is its source.
            relation = cl.relation_of(seed)
            key = f"{relation[0]}.{relation[1]}"
            columns = by_relation.get(relation, [])
            ns, ol_name = self.warehouse.lineage_dataset(*relation)
            entries.append(
                _catalog_entry(seed, key, ns, ol_name, columns)
                | {"rows": rows.get(relation), "run_id": run_id}
            )
            path = str(seed.get("original_file_path") or f"seeds/{seed['name']}.csv")
            file_key = f"seed_file.{path}"
            entries.append(
                {
                    "key": file_key,
                    "kind": "seed_file",
                    "namespace": "file",
                    "name": str(self.project.dbt_project_dir / path),
                    "columns": columns,
                }
            )
            lineages.append((key, "transform", _copy_edges(file_key, columns)))
        # Raw tables as dbt read them: loads record columns, the count is the table's.
        entries += [
            {
                "key": f"{relation[0]}.{relation[1]}",
                "kind": "raw",
                "namespace": ns,
                "name": ol_name,
                "rows": rows[relation],
            }
            for relation in raw_tables
            if relation in rows
            for ns, ol_name in [self.warehouse.lineage_dataset(*relation)]
        ]
        self.store.record_datasets(entries)
        self.store.replace_lineages(lineages)
        return traced, untraced

    def _dbt_events(
        self,
        run_id: str,
        parent_job: str,
        dbt_project: Path,
        profile: str,
        target_dir: Path,
        traced: dict[str, Any],
        manifest: dict[str, Any],
    ) -> None:
        """One START and one COMPLETE/FAIL per dbt node, from dbt's artifacts
        (openlineage-integration-common's processor), children of ``parent_job``."""
        if not self.events.enabled or not (target_dir / "run_results.json").exists():
            return
        import logging

        from openlineage.common.provider.dbt.facets import ParentRunMetadata

        processor = _processor_class(manifest)(
            producer=PRODUCER,
            job_namespace=self.events.namespace,
            project_dir=str(dbt_project),
            profile_name=profile,
            target=self.env,
            target_path=str(target_dir),
            skip_errors=True,
            logger=logging.getLogger("basin.lineage.dbt"),
        )
        processor.dbt_run_metadata = ParentRunMetadata(
            run_id=run_uuid(run_id, parent_job),
            job_name=parent_job,
            job_namespace=self.events.namespace,
        )
        # The processor names a source's dataset after its dbt name, not its identifier
        # (the table Basin loaded): rename so load's output and dbt's input meet.
        renamed = _source_renames(manifest)
        for event in processor.parse().events():
            for dataset in event.inputs or []:
                if dataset.name in renamed:
                    object.__setattr__(dataset, "name", renamed[dataset.name])
            for output in event.outputs or []:
                result = traced.get(output.name.lower())
                if result is not None and result.columns:
                    output.facets = {
                        **(output.facets or {}),
                        "columnLineage": self._column_facet(result.columns),
                    }
            self.events.send(event)

    def _column_facet(self, columns: dict[str, Any]) -> Any:
        """OpenLineage's column-lineage facet of traced ``columns``."""
        from openlineage.client.facet_v2 import column_lineage_dataset as cld

        fields = {
            column: cld.Fields(
                inputFields=[
                    cld.InputField(namespace=ns, name=name, field=upstream)
                    for (schema, table), upstream in sources
                    for ns, name in [self.warehouse.lineage_dataset(schema, table)]
                ],
                transformationType="",
                transformationDescription="",
            )
            for column, sources in columns.items()
        }
        return cld.ColumnLineageDatasetFacet(fields=fields)


def _processor_class(manifest: dict[str, Any]) -> Any:
    """openlineage-integration-common's dbt artifact processor, reading the manifest
    Basin has already parsed and leaving column lineage to Basin."""
    from openlineage.common.provider.dbt.local import DbtLocalArtifactProcessor

    class Processor(DbtLocalArtifactProcessor):
        def get_column_lineage(self, *args: Any, **kwargs: Any) -> None:
            # Basin traces columns itself, with the warehouse's schema (which
            # expands `select *`); parsing every model twice would only cost time.
            return None

        @staticmethod
        def load_yaml(path: str) -> dict[str, Any]:
            # libyaml's parser: the pure-Python one took 0.03 s per transform here.
            import yaml

            with open(path, encoding="utf-8") as fh:
                loaded: dict[str, Any] = yaml.load(fh, Loader=yaml.CSafeLoader)  # noqa: S506
                return loaded

        def get_dbt_metadata(self) -> tuple[dict[Any, Any], ...]:
            # As the processor's own, but with the manifest Basin has already parsed.
            runs = self.load_metadata(self.run_result_path, list(range(2, 7)), self.logger)
            try:
                catalog = self.load_metadata(self.catalog_path, [1], self.logger)
            except FileNotFoundError:
                catalog = None
            profiles = Path(runs["args"]["profiles_dir"]) / "profiles.yml"
            outputs = self.load_yaml_with_jinja(str(profiles))[self.profile_name]["outputs"]
            return manifest, runs, outputs[self.target], catalog

    return Processor


def _catalog_entry(
    node: dict[str, Any], key: str, namespace: str, name: str, columns: list[tuple[str, str]]
) -> dict[str, Any]:
    """A dbt model's catalog entry: columns with their descriptions, description,
    owner (``meta.owner``), tags and ``pii:<column>`` tags from columns' meta or tags."""
    described = {
        column.lower(): (c.get("description") or None)
        for column, c in node.get("columns", {}).items()
    }
    meta = node.get("meta") or node.get("config", {}).get("meta") or {}
    pii = sorted(
        column
        for column, c in node.get("columns", {}).items()
        if (c.get("meta") or {}).get("pii") or "pii" in (c.get("tags") or [])
    )
    return {
        "key": key,
        "kind": str(node.get("resource_type")),
        "namespace": namespace,
        "name": name,
        "columns": [(c, t, described.get(c.lower())) for c, t in columns],
        "description": node.get("description") or None,
        "owner": meta.get("owner"),
        "tags": list(node.get("tags") or []) + [f"pii:{c}" for c in pii],
    }


def _source_renames(manifest: dict[str, Any]) -> dict[str, str]:
    """dbt source dataset names → the tables Basin loaded (their identifiers)."""
    renamed = {}
    for src in manifest.get("sources", {}).values():
        if src.get("identifier") and src["identifier"] != src["name"]:
            prefix = f"{src['database']}.{src['schema']}."
            renamed[prefix + src["name"]] = prefix + src["identifier"]
    return renamed


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector. After an in-process dbt run the process
    holds millions of objects, and each full collection triggered by sqlglot's parse
    trees walked them all: 0.29 s of a first incremental run's 0.56 s of lineage work
    was such pauses inside sqlglot's parser (pyinstrument, scale 0.1)."""
    import gc

    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _relation_key(manifest: dict[str, Any], unique_id: str) -> str | None:
    """``schema.table`` of a manifest node or source, None for anything else."""
    from basin.lineage.columns import relation_of

    node = manifest.get("nodes", {}).get(unique_id) or manifest.get("sources", {}).get(unique_id)
    if not node or "schema" not in node or node.get("resource_type") == "test":
        return None
    schema, table = relation_of(node)
    return f"{schema}.{table}"


def _copy_edges(
    upstream: str, columns: list[tuple[str, str]]
) -> list[tuple[str | None, str, str | None]]:
    """Edges of a one-to-one copy: the table, and each column but Basin's own."""
    edges: list[tuple[str | None, str, str | None]] = [(None, upstream, None)]
    return edges + [(c, upstream, c) for c, _ in columns if not c.startswith("_basin_")]
