"""sample.local_candidate_type, sample.remote_candidate_type: the path of the connection

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: older samples did not record their path (no rewrite of history).
    with op.batch_alter_table("sample", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_candidate_type", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("remote_candidate_type", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sample", schema=None) as batch_op:
        batch_op.drop_column("remote_candidate_type")
        batch_op.drop_column("local_candidate_type")
