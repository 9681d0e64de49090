"""Column lineage of one model's SQL, and the cache that skips unchanged models."""

from __future__ import annotations

from pathlib import Path

from basin.lineage.columns import LineageCache, model_lineage, sql_schema

SQL = """
with customers as (select * from warehouse.raw.crm__customers),
renamed as (select id as customer_id, lower(email) as email, first || ' ' || last as name from customers)
select r.customer_id, r.email, r.name, o.total, 1 as one
from renamed as r join warehouse.staging.orders as o on o.customer_id = r.customer_id
"""
COLUMNS = {
    ("raw", "crm__customers"): [
        ("id", "INTEGER"),
        ("email", "VARCHAR"),
        ("first", "VARCHAR"),
        ("last", "VARCHAR"),
    ],
    ("staging", "orders"): [("customer_id", "INTEGER"), ("total", "DECIMAL(12,2)")],
}
CATALOGS = {("raw", "crm__customers"): "warehouse", ("staging", "orders"): "warehouse"}


def test_every_output_column_reaches_its_upstream_columns_through_ctes_and_star() -> None:
    result = model_lineage(SQL, ("marts", "m"), sql_schema(CATALOGS, COLUMNS), "duckdb")
    assert result.error is None
    assert result.columns == {
        "customer_id": [(("raw", "crm__customers"), "id")],
        "email": [(("raw", "crm__customers"), "email")],
        "name": [(("raw", "crm__customers"), "first"), (("raw", "crm__customers"), "last")],
        "total": [(("staging", "orders"), "total")],
        "one": [],
    }


def test_sql_sqlglot_cannot_read_is_reported_not_raised() -> None:
    result = model_lineage("select from where (", ("marts", "m"), {}, "duckdb")
    assert result.error and not result.columns


def test_cache_returns_earlier_traces_until_sql_or_schema_changes(tmp_path: Path) -> None:
    mapping = sql_schema(CATALOGS, COLUMNS)
    path = tmp_path / "cache.json"
    first = LineageCache(path, mapping, "duckdb")
    assert first.get(SQL, ("marts", "m")) is None
    traced = model_lineage(SQL, ("marts", "m"), mapping, "duckdb")
    first.put(SQL, traced)
    first.save()

    again = LineageCache(path, mapping, "duckdb")
    assert again.get(SQL, ("marts", "m")).columns == traced.columns  # type: ignore[union-attr]
    assert again.get(SQL.replace("1 as one", "o.customer_id as one"), ("marts", "m")) is None

    widened = {**COLUMNS, ("staging", "orders"): [*COLUMNS[("staging", "orders")], ("tax", "INT")]}
    assert (
        LineageCache(path, sql_schema(CATALOGS, widened), "duckdb").get(SQL, ("marts", "m")) is None
    )


def test_a_filter_only_change_reuses_the_trace_on_every_later_run(tmp_path: Path) -> None:
    """An incremental model's second run adds its ``is_incremental()`` filter: what it
    selects is unchanged, so its trace is reused, and stays reusable."""
    mapping = sql_schema(CATALOGS, COLUMNS)
    path = tmp_path / "cache.json"
    cache = LineageCache(path, mapping, "duckdb")
    traced = model_lineage(SQL, ("marts", "m"), mapping, "duckdb")
    cache.put(SQL, traced)
    cache.save()
    incremental = SQL + " where o.total > (select max(total) from warehouse.marts.m)"
    for _ in range(2):  # the run after, and a run after a run with exact hits only
        cache = LineageCache(path, mapping, "duckdb")
        hit = cache.get(incremental, ("marts", "m"))
        assert hit is not None and hit.columns == traced.columns
        cache.save()
    cache = LineageCache(path, mapping, "duckdb")
    assert cache.get(incremental, ("marts", "m")) is not None
    cache.save()
    # Only the exact key was used by that run; the filter-free key must survive it.
    other_filter = SQL + " where o.total > 0"
    assert LineageCache(path, mapping, "duckdb").get(other_filter, ("marts", "m")) is not None
