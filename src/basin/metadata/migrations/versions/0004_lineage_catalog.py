"""lineage edges and catalog datasets

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "basin_datasets",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("env", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("namespace", sa.String(1024), nullable=False),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("columns", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("owner", sa.String(256)),
        sa.Column("tags", sa.Text),
        sa.Column("rows", sa.BigInteger),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("run_id", sa.String(64)),
    )
    op.create_table(
        "basin_lineage_edges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("env", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("column_name", sa.String(256)),
        sa.Column("upstream_dataset", sa.String(512), nullable=False),
        sa.Column("upstream_column", sa.String(256)),
        sa.Column("step", sa.String(32), nullable=False),
    )
    op.create_index("ix_basin_lineage_edges_dataset", "basin_lineage_edges", ["env", "dataset"])
    op.create_index(
        "ix_basin_lineage_edges_upstream", "basin_lineage_edges", ["env", "upstream_dataset"]
    )


def downgrade() -> None:
    op.drop_table("basin_lineage_edges")
    op.drop_table("basin_datasets")
