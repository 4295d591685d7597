"""agent links: one-time enrolment codes of sites, stored hashed

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
            name=op.f("fk_agent_enrolment_site_id_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_enrolment")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_agent_enrolment_code_hash")),
    )
    with op.batch_alter_table("agent_enrolment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_enrolment_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agent_enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_enrolment_site_id"))
    op.drop_table("agent_enrolment")
