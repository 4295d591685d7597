"""sample_rollup: per-minute figures of each site, kept longer than the raw samples

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rollups start with this revision: the raw samples already stored stay as they are.
    op.create_table(
        "sample_rollup",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("minute", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("windows", sa.Integer(), nullable=False),
        sa.Column("reachable_windows", sa.Integer(), nullable=False),
        sa.Column("rtt_median_seconds", sa.Double(), nullable=True),
        sa.Column("rtt_p95_seconds", sa.Double(), nullable=True),
        sa.Column("loss_ratio", sa.Double(), nullable=True),
        sa.Column("mos", sa.Double(), nullable=True),
        sa.Column("mos_min", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
            name=op.f("fk_sample_rollup_site_id_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "minute", name=op.f("pk_sample_rollup")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("sample_rollup")
