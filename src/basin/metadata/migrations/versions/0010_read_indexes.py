"""indexes for reading history: runs by environment and time, the newest check
results and one check's, a run's batches, each entity's newest batch (the web UI)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_basin_runs_env_started", "basin_runs", ["env", "started_at"])
    op.create_index(
        "ix_basin_check_results_check", "basin_check_results", ["env", "unique_id", "id"]
    )
    op.create_index("ix_basin_check_results_env", "basin_check_results", ["env", "id"])
    op.create_index("ix_basin_batches_run", "basin_batches", ["run_id"])
    # Each entity's newest complete batch from the index alone.
    op.drop_index("ix_basin_batches_entity", "basin_batches")
    op.create_index(
        "ix_basin_batches_entity",
        "basin_batches",
        ["env", "source", "entity", "status", "completed_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_basin_batches_entity", "basin_batches")
    op.create_index(
        "ix_basin_batches_entity", "basin_batches", ["env", "source", "entity", "status"]
    )
    op.drop_index("ix_basin_batches_run", "basin_batches")
    op.drop_index("ix_basin_check_results_env", "basin_check_results")
    op.drop_index("ix_basin_check_results_check", "basin_check_results")
    op.drop_index("ix_basin_runs_env_started", "basin_runs")
