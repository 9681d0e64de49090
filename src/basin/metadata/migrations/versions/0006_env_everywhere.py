"""every table scoped by environment

Batches, loads, watermarks, files taken, schemas, publications, incidents and check
results get an ``env`` column (part of the key where the key named an entity), so two
environments can share one store. Existing rows take the environment of the run (or
batch) that wrote them; rows neither names take the store's most used environment.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table → how its rows find their environment
BY_RUN = (
    "basin_batches",
    "basin_loads",
    "basin_publications",
    "basin_check_results",
    "basin_incidents",
)
BY_BATCH = ("basin_watermarks", "basin_processed_files", "basin_entity_schemas")
TS = sa.DateTime(timezone=True)


def _keyed() -> dict[str, list[sa.Column]]:
    """The tables whose key names an entity, as they become: ``env`` joins the key."""

    def env() -> sa.Column:
        return sa.Column("env", sa.String(64), primary_key=True)

    return {
        "basin_watermarks": [
            env(),
            sa.Column("source", sa.String(128), primary_key=True),
            sa.Column("entity", sa.String(128), primary_key=True),
            sa.Column("value", sa.Text),
            sa.Column("batch_id", sa.String(96)),
            sa.Column("updated_at", TS, nullable=False),
        ],
        "basin_processed_files": [
            env(),
            sa.Column("source", sa.String(128), primary_key=True),
            sa.Column("entity", sa.String(128), primary_key=True),
            sa.Column("path", sa.String(1024), primary_key=True),
            sa.Column("checksum", sa.String(64), primary_key=True),
            sa.Column("size", sa.BigInteger, nullable=False),
            sa.Column("batch_id", sa.String(96), nullable=False),
            sa.Column("processed_at", TS, nullable=False),
        ],
        "basin_entity_schemas": [
            env(),
            sa.Column("source", sa.String(128), primary_key=True),
            sa.Column("entity", sa.String(128), primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("columns", sa.Text, nullable=False),
            sa.Column("change", sa.Text),
            sa.Column("batch_id", sa.String(96)),
            sa.Column("recorded_at", TS, nullable=False),
        ],
    }


def upgrade() -> None:
    conn = op.get_bind()
    fallback = (
        conn.execute(
            sa.text("select env from basin_runs group by env order by count(*) desc, env limit 1")
        ).scalar()
        or "dev"
    )
    for table in BY_RUN + BY_BATCH:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("env", sa.String(64)))
    for table in BY_RUN:
        conn.execute(
            sa.text(
                f"update {table} set env = (select r.env from basin_runs r "
                f"where r.run_id = {table}.run_id)"
            )
        )
    for table in BY_BATCH:
        conn.execute(
            sa.text(
                f"update {table} set env = (select b.env from basin_batches b "
                f"where b.batch_id = {table}.batch_id)"
            )
        )
    for table in BY_RUN + BY_BATCH:
        conn.execute(sa.text(f"update {table} set env = :env where env is null"), {"env": fallback})
    postgres = conn.dialect.name == "postgresql"
    for table in BY_RUN:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("env", existing_type=sa.String(64), nullable=False)
    # A new key: build each keyed table anew and copy its rows (SQLite cannot alter a
    # primary key, and rebuilding it in place leaves the old key on the columns).
    for table, columns in _keyed().items():
        names = ", ".join(c.name for c in columns)
        op.create_table(f"{table}_v6", *columns)
        conn.execute(sa.text(f"insert into {table}_v6 ({names}) select {names} from {table}"))
        op.drop_table(table)
        op.rename_table(f"{table}_v6", table)
        if postgres:
            conn.execute(
                sa.text(f"alter table {table} rename constraint {table}_v6_pkey to {table}_pkey")
            )
    op.drop_index("ix_basin_batches_entity", table_name="basin_batches")
    op.create_index(
        "ix_basin_batches_entity", "basin_batches", ["env", "source", "entity", "status"]
    )
    op.drop_index("ix_basin_incidents_open", table_name="basin_incidents")
    op.create_index(
        "ix_basin_incidents_open",
        "basin_incidents",
        ["env", "kind", "source", "entity", "resolved_at"],
    )


def downgrade() -> None:
    raise NotImplementedError("0006 cannot be undone: environments would collide")
