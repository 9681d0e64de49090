"""dbt seeds are datasets too: in the catalog, and column lineage reaches their file."""

from __future__ import annotations

from pathlib import Path


def test_a_seed_is_catalogued_and_traced_to_its_file(cli, project: Path) -> None:
    seeds = project / "dbt" / "seeds"
    seeds.mkdir()
    (seeds / "order_statuses.csv").write_text("status,label\npaid,Paid\npending,Pending\n")
    (project / "dbt" / "models" / "marts" / "status_revenue.sql").write_text(
        "select s.label as status_label, sum(o.amount) as revenue\n"
        "from {{ ref('stg_shop__orders') }} as o\n"
        "join {{ ref('order_statuses') }} as s on s.status = o.order_status\n"
        "group by 1\n"
    )
    assert cli("run", project=project).exit_code == 0
    found = cli("catalog", "search", "order_statuses", project=project).stdout
    assert "main.order_statuses" in found and "seed_file.seeds/order_statuses.csv" in found
    tree = cli("lineage", "status_revenue", "-c", "status_label", project=project).stdout
    assert "main.order_statuses.label" in tree
    assert "seed_file.seeds/order_statuses.csv.label" in tree
