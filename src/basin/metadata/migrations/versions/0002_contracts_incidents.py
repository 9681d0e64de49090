"""entity schemas (contracts) and incidents

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "basin_entity_schemas",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("entity", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("change", sa.Text),
        sa.Column("batch_id", sa.String(96)),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_table(
        "basin_incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("source", sa.String(128)),
        sa.Column("entity", sa.String(128)),
        sa.Column("batch_id", sa.String(96)),
        sa.Column("run_id", sa.String(64)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
        sa.Column("resolved_at", TS),
    )
    op.create_index(
        "ix_basin_incidents_open", "basin_incidents", ["kind", "source", "entity", "resolved_at"]
    )


def downgrade() -> None:
    op.drop_table("basin_incidents")
    op.drop_table("basin_entity_schemas")
