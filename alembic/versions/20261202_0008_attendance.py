"""attendance: the delegates present at a site, each new value from its agent or an operator

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attendance",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "agent",
                "operator",
                name="source",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_attendance_site_id_site"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index("ix_attendance_site_id_at", ["site_id", "at"], unique=False)
    # What agents reported before: the value each site's latest sample carried.
    op.execute(
        "INSERT INTO attendance (site_id, at, present, source, by) "
        "SELECT s.site_id, s.at, s.attendance, 'agent', 'agent' FROM sample s "
        "JOIN (SELECT site_id, MAX(at) AS at FROM sample WHERE attendance IS NOT NULL "
        "GROUP BY site_id) latest ON latest.site_id = s.site_id AND latest.at = s.at "
        "WHERE s.attendance IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_index("ix_attendance_site_id_at")
    op.drop_table("attendance")
