"""run owner (host, pid) and entity configuration fingerprints

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("basin_runs") as batch:
        batch.add_column(sa.Column("host", sa.String(256)))
        batch.add_column(sa.Column("pid", sa.Integer))
    op.create_table(
        "basin_entity_configs",
        sa.Column("env", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("entity", sa.String(128), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("settings", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("basin_entity_configs")
    with op.batch_alter_table("basin_runs") as batch:
        batch.drop_column("pid")
        batch.drop_column("host")
