"""maintenance windows (maintenance_window), and the `maintenance` status of sites

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("unknown", "up", "degraded", "down", "paused")
NEW_STATUSES = (*OLD_STATUSES, "maintenance")
# Every column holding a site status, with the name of its CHECK (models.base.str_enum).
STATUS_COLUMNS = (
    ("site", "status", "ck_site_site_status"),
    ("status_change", "old_status", "ck_status_change_old_status"),
    ("status_change", "new_status", "ck_status_change_new_status"),
    ("incident", "severity", "ck_incident_severity"),
)


def _allow(statuses: Sequence[str]) -> None:
    """Replace each status column's CHECK with one allowing `statuses`."""
    listed = ", ".join(f"'{status}'" for status in statuses)
    if op.get_bind().dialect.name == "sqlite":
        _allow_on_sqlite(listed)
        return
    for table, column, name in STATUS_COLUMNS:
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, f"{column} IN ({listed})")


def _allow_on_sqlite(listed: str) -> None:
    """SQLite cannot alter a CHECK, and batch mode's copy of `site` would be fatal: dropping the
    old table deletes, by ON DELETE CASCADE, every sample, status change and incident (foreign
    keys cannot be turned off inside the migration's transaction). The CHECKs are rewritten in
    the stored schema instead, the procedure SQLite documents for changing constraints that the
    rows already meet (https://www.sqlite.org/lang_altertable.html, "otherwise", §7); callers
    make the rows meet the new CHECK first."""
    bind = op.get_bind()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    for table, column, name in STATUS_COLUMNS:
        sql = bind.scalar(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table"),
            {"table": table},
        )
        check = re.compile(rf"CONSTRAINT {name} CHECK \({column} IN \([^)]*\)\)")
        if sql is None or not check.search(sql):
            raise RuntimeError(f"{table}: no CHECK {name} to replace")
        replaced = check.sub(f"CONSTRAINT {name} CHECK ({column} IN ({listed}))", sql)
        bind.execute(
            sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :table"),
            {"sql": replaced, "table": table},
        )
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    # A new schema version makes every connection read the rewritten schema again.
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"the schema after rewriting its CHECKs: {problems}")


def upgrade() -> None:
    _allow(NEW_STATUSES)
    op.create_table(
        "maintenance_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("subtree", sa.Boolean(), nullable=False),
        sa.Column("starts_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("ends_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
            name=op.f("fk_maintenance_window_site_id_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_window")),
    )
    with op.batch_alter_table("maintenance_window", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_window_site_id"), ["site_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_maintenance_window_ends_at"), ["ends_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("maintenance_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_window_ends_at"))
        batch_op.drop_index(batch_op.f("ix_maintenance_window_site_id"))
    op.drop_table("maintenance_window")
    # The older schema knows no maintenance: such a site is of unknown status until probed.
    op.execute("UPDATE site SET status = 'unknown' WHERE status = 'maintenance'")
    op.execute("UPDATE status_change SET old_status = 'unknown' WHERE old_status = 'maintenance'")
    op.execute("UPDATE status_change SET new_status = 'unknown' WHERE new_status = 'maintenance'")
    _allow(OLD_STATUSES)
