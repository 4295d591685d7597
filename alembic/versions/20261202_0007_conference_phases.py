"""conference phases from the schedule: time zone, pre-flight and readiness minutes, an
operator's early start or end, and the record of operators' actions (conference_action)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHASE = sa.Enum(
    "planned",
    "preflight",
    "live",
    "ended",
    name="conference_phase",
    native_enum=False,
    create_constraint=True,
    length=16,
)


def upgrade() -> None:
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "time_zone", sa.String(length=64), nullable=False, server_default="Asia/Ho_Chi_Minh"
            )
        )
        batch_op.add_column(
            sa.Column("preflight_minutes", sa.Integer(), nullable=False, server_default="60")
        )
        batch_op.add_column(
            sa.Column("ready_minutes", sa.Integer(), nullable=False, server_default="5")
        )
        batch_op.add_column(
            sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("ended_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    # A phase an admin set by hand ahead of the clock becomes an early start or end, at the
    # time of that edit; the clock does the rest.
    op.execute(
        "UPDATE conference SET started_at = updated_at "
        "WHERE phase IN ('live', 'ended') AND starts_at > updated_at"
    )
    op.execute(
        "UPDATE conference SET ended_at = updated_at WHERE phase = 'ended' AND ends_at > updated_at"
    )
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.alter_column("time_zone", server_default=None)
        batch_op.alter_column("preflight_minutes", server_default=None)
        batch_op.alter_column("ready_minutes", server_default=None)
        # Its CHECK first: SQLite's copy of the table would keep it, naming a dropped column.
        batch_op.drop_constraint(op.f("ck_conference_conference_phase"), type_="check")
        batch_op.drop_column("phase")
    op.create_table(
        "conference_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "start",
                "extend",
                "end",
                name="phase_action",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conference.id"],
            name=op.f("fk_conference_action_conference_id_conference"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conference_action")),
    )
    with op.batch_alter_table("conference_action", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conference_action_conference_id"), ["conference_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conference_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conference_action_conference_id"))
    op.drop_table("conference_action")
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phase", PHASE, nullable=False, server_default="planned"))
    op.execute("UPDATE conference SET phase = 'live' WHERE started_at IS NOT NULL")
    op.execute("UPDATE conference SET phase = 'ended' WHERE ended_at IS NOT NULL")
    with op.batch_alter_table("conference", schema=None) as batch_op:
        batch_op.alter_column("phase", server_default=None)
        batch_op.drop_column("ended_at")
        batch_op.drop_column("started_at")
        batch_op.drop_column("ready_minutes")
        batch_op.drop_column("preflight_minutes")
        batch_op.drop_column("time_zone")
