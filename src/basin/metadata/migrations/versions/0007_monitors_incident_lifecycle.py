"""monitor results; incidents with a fingerprint, acknowledgement and event time

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fingerprint(env: str, kind: str, source: object, entity: object) -> str:
    # As basin.metadata.store.fingerprint (kept here: a migration never changes).
    key = "\x1f".join([env, kind, str(source or ""), str(entity or "")])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def upgrade() -> None:
    with op.batch_alter_table("basin_incidents") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(32)))
        batch.add_column(sa.Column("event_at", TS))
        batch.add_column(sa.Column("acked_at", TS))
        batch.add_column(sa.Column("acked_by", sa.String(128)))
        batch.add_column(sa.Column("resolved_by", sa.String(128)))
    incidents = sa.table(
        "basin_incidents",
        sa.column("id", sa.Integer),
        sa.column("env", sa.String),
        sa.column("kind", sa.String),
        sa.column("source", sa.String),
        sa.column("entity", sa.String),
        sa.column("fingerprint", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            incidents.c.id,
            incidents.c.env,
            incidents.c.kind,
            incidents.c.source,
            incidents.c.entity,
        )
    ).fetchall()
    for id_, env, kind, source, entity in rows:
        conn.execute(
            incidents.update()
            .where(incidents.c.id == id_)
            .values(fingerprint=_fingerprint(str(env), str(kind), source, entity))
        )
    op.create_index("ix_basin_incidents_fingerprint", "basin_incidents", ["fingerprint"])
    op.create_table(
        "basin_monitor_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("env", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("monitor", sa.String(32), nullable=False),
        sa.Column("target", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("observed", sa.Float),
        sa.Column("expected", sa.Text),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("evaluated_at", TS, nullable=False),
    )
    op.create_index(
        "ix_basin_monitor_results_target",
        "basin_monitor_results",
        ["env", "monitor", "target", "evaluated_at"],
    )


def downgrade() -> None:
    op.drop_table("basin_monitor_results")
    op.drop_index("ix_basin_incidents_fingerprint", "basin_incidents")
    with op.batch_alter_table("basin_incidents") as batch:
        for column in ("resolved_by", "acked_by", "acked_at", "event_at", "fingerprint"):
            batch.drop_column(column)
