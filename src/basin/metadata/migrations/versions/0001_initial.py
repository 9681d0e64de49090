"""initial metadata store

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Long on purpose: a declaration of the first tables, one create_table each.
    op.create_table(
        "basin_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("env", sa.String(64), nullable=False),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS),
        sa.Column("error", sa.Text),
        sa.Column("basin_version", sa.String(32), nullable=False),
    )
    op.create_table(
        "basin_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("basin_runs.run_id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS),
        sa.Column("rows", sa.BigInteger),
        sa.Column("detail", sa.Text),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_basin_steps_run_id", "basin_steps", ["run_id"])
    op.create_table(
        "basin_batches",
        sa.Column("batch_id", sa.String(96), primary_key=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("entity", sa.String(128), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("row_count", sa.BigInteger),
        sa.Column("quarantined_rows", sa.BigInteger),
        sa.Column("inputs", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("completed_at", TS),
    )
    op.create_index("ix_basin_batches_entity", "basin_batches", ["source", "entity", "status"])
    op.create_table(
        "basin_loads",
        sa.Column("batch_id", sa.String(96), primary_key=True),
        sa.Column("warehouse", sa.String(256), primary_key=True),
        sa.Column("run_id", sa.String(64)),
        sa.Column("table_name", sa.String(256), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("loaded_at", TS, nullable=False),
    )
    op.create_table(
        "basin_watermarks",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("entity", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text),
        sa.Column("batch_id", sa.String(96)),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "basin_processed_files",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("entity", sa.String(128), primary_key=True),
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("checksum", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("batch_id", sa.String(96), nullable=False),
        sa.Column("processed_at", TS, nullable=False),
    )
    op.create_table(
        "basin_publications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("tables", sa.Text, nullable=False),
    )
    op.create_index("ix_basin_publications_run_id", "basin_publications", ["run_id"])


def downgrade() -> None:
    for table in (
        "basin_publications",
        "basin_processed_files",
        "basin_watermarks",
        "basin_loads",
        "basin_batches",
        "basin_steps",
        "basin_runs",
    ):
        op.drop_table(table)
