"""full checks of sites: the outcome of each site's last one, and an operator's request for one

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 11:00:00

A request (`site.full_check_requested_at`) reaches the worker that holds the site the way site
edits do: the `bridgewatch_sites` notification (0004), which now also fires on that column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_WATCHED = "code, name, level, parent_id, probe_mode, probe_target, thresholds, enabled"
NEW_WATCHED = f"{OLD_WATCHED}, full_check_requested_at"
COLUMNS = ("full_check_at", "full_check_passed", "full_check_failed", "full_check_requested_at")


def upgrade() -> None:
    op.add_column(
        "site", sa.Column("full_check_at", models.base.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column("site", sa.Column("full_check_passed", sa.Boolean(), nullable=True))
    op.add_column(
        "site",
        sa.Column("full_check_failed", sa.String(length=200), server_default="", nullable=False),
    )
    op.add_column(
        "site",
        sa.Column("full_check_requested_at", models.base.UTCDateTime(timezone=True), nullable=True),
    )
    _watch(NEW_WATCHED)


def downgrade() -> None:
    _watch(OLD_WATCHED)
    # Not batch mode: its copy of `site` would delete, by ON DELETE CASCADE, every sample,
    # status change and incident on SQLite (see 0010); SQLite drops a plain column in place.
    for column in COLUMNS:
        op.drop_column("site", column)


def _watch(columns: str) -> None:
    """The site-edits trigger (0004), firing on an update of `columns`."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER site_edited ON site")
    op.execute(
        f"""
        CREATE TRIGGER site_edited
        AFTER INSERT OR DELETE OR UPDATE OF {columns} ON site
        FOR EACH STATEMENT EXECUTE FUNCTION bridgewatch_sites_changed()
        """
    )
