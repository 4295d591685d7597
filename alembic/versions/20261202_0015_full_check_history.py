"""full_check: every full check of each site, not only its last

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "full_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("failed", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_full_check_site_id_site"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_full_check")),
    )
    op.create_index("ix_full_check_site_id_at", "full_check", ["site_id", "at"], unique=False)
    # The last check each site row kept is the history there is so far.
    op.execute(
        "INSERT INTO full_check (site_id, at, passed, failed) "
        "SELECT id, full_check_at, COALESCE(full_check_passed, false), "
        "COALESCE(full_check_failed, '') FROM site WHERE full_check_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_full_check_site_id_at", table_name="full_check")
    op.drop_table("full_check")
