"""quality check results

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "basin_check_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("unique_id", sa.String(512), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("model", sa.String(512)),
        sa.Column("column_name", sa.String(256)),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failures", sa.BigInteger),
        sa.Column("message", sa.Text),
        sa.Column("sample", sa.Text),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_basin_check_results_run_id", "basin_check_results", ["run_id"])
    op.create_index("ix_basin_check_results_model", "basin_check_results", ["model", "checked_at"])


def downgrade() -> None:
    op.drop_table("basin_check_results")
