"""incident grouping: incident.kind (site, group, monitor_link), incident.cause,
incident.parent_incident_id

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_OPEN_GROUP = sa.text("closed_at IS NULL AND kind <> 'site'")


def upgrade() -> None:
    # Batch mode copies `incident` on SQLite: nothing references it yet, so nothing cascades.
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "site",
                    "group",
                    "monitor_link",
                    name="incident_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                server_default="site",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("cause", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("parent_incident_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_incident_parent_incident_id_incident"),
            "incident",
            ["parent_incident_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Outside the batch: its copy of the table would index columns it has not added yet.
    op.create_index(
        op.f("ix_incident_parent_incident_id"), "incident", ["parent_incident_id"], unique=False
    )
    op.create_index(
        "uq_incident_open_group",
        "incident",
        ["site_id", "kind"],
        unique=True,
        postgresql_where=ONE_OPEN_GROUP,
        sqlite_where=ONE_OPEN_GROUP,
    )


def downgrade() -> None:
    # The older schema knows no groups: their incidents go, their children stay as they were.
    op.execute("UPDATE incident SET parent_incident_id = NULL")
    op.execute("DELETE FROM incident WHERE kind <> 'site'")
    op.drop_index("uq_incident_open_group", table_name="incident")
    op.drop_index(op.f("ix_incident_parent_incident_id"), table_name="incident")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_incident_parent_incident_id_incident"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("ck_incident_incident_kind"), type_="check")
        batch_op.drop_column("parent_incident_id")
        batch_op.drop_column("cause")
        batch_op.drop_column("kind")
