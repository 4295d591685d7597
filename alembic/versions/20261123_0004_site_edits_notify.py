"""notify scale-out workers of site edits (PostgreSQL only)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:15:00

Every statement that changes what a probe engine watches (a site added, removed, enabled,
pointed elsewhere, given new limits; an agent secret issued or rotated) sends one notification
on the channel `bridgewatch_sites`, delivered at commit. Workers LISTEN and reload at once, so
an edit made through any process, the CLI or plain SQL reaches them in a second, not at their
next lease tick. SQLite has no other process to tell: nothing to do there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED_COLUMNS = "code, name, level, parent_id, probe_mode, probe_target, thresholds, enabled"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION bridgewatch_sites_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('bridgewatch_sites', '');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER site_edited
        AFTER INSERT OR DELETE OR UPDATE OF {WATCHED_COLUMNS} ON site
        FOR EACH STATEMENT EXECUTE FUNCTION bridgewatch_sites_changed()
        """
    )
    op.execute(
        """
        CREATE TRIGGER agent_credential_edited
        AFTER INSERT OR DELETE OR UPDATE ON agent_credential
        FOR EACH STATEMENT EXECUTE FUNCTION bridgewatch_sites_changed()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER agent_credential_edited ON agent_credential")
    op.execute("DROP TRIGGER site_edited ON site")
    op.execute("DROP FUNCTION bridgewatch_sites_changed()")
