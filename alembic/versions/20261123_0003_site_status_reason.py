"""site.status_reason: why the status last changed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status_reason", sa.String(length=200), server_default="", nullable=False)
        )
    # Existing sites get the reason of the change that gave them their current status.
    op.execute(
        """
        UPDATE site SET status_reason = COALESCE((
            SELECT status_change.reason FROM status_change
            WHERE status_change.site_id = site.id AND status_change.new_status = site.status
            ORDER BY status_change.at DESC, status_change.id DESC
            LIMIT 1
        ), '')
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_column("status_reason")
