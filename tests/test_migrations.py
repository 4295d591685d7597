"""Migrations build the schema on SQLite and PostgreSQL, go down cleanly and match the models."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from models import migrations
from models.db import create_engine
from models.tables import Base
from tests.databases import empty_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    else:
        async with empty_postgres() as url:
            yield url


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_downgrade_upgrade_leaves_no_drift(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        await migrations.upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set(Base.metadata.tables)
        assert await migrations.current_revision(engine) == migrations.head_revision()

        await migrations.downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()

        await migrations.upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_drift) == []
    finally:
        await engine.dispose()


async def test_sites_of_an_older_schema_get_the_reason_of_their_current_status(
    empty_url: str,
) -> None:
    """0003 adds `site.status_reason` and fills it from history, so an upgraded service does not
    show sites down for no reason until they next change."""
    engine = create_engine(empty_url)
    try:
        await migrations.upgrade(engine, "0002")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO site (id, code, name, level, probe_mode, enabled, search_text,"
                    " status, status_since, created_at, updated_at) VALUES"
                    " (1, '040', 'Hòa An', 'district', 'pull', true, '', 'down', :t, :t, :t),"
                    " (2, '042', 'Bảo Lâm', 'district', 'pull', true, '', 'up', :t, :t, :t)"
                ),
                {"t": datetime(2026, 11, 23, 7, 50, tzinfo=UTC)},
            )
            await connection.execute(
                text(
                    "INSERT INTO status_change (site_id, at, old_status, new_status, reason)"
                    " VALUES (1, :early, 'unknown', 'up', 'link good'),"
                    " (1, :late, 'up', 'down', '3 heartbeats missed')"
                ),
                {
                    "early": datetime(2026, 11, 23, 7, 40, tzinfo=UTC),
                    "late": datetime(2026, 11, 23, 7, 50, tzinfo=UTC),
                },
            )
        await migrations.upgrade(engine)
        async with engine.connect() as connection:
            reasons = (await connection.execute(text("SELECT code, status_reason FROM site"))).all()
        assert sorted(reasons) == [("040", "3 heartbeats missed"), ("042", "")]
    finally:
        await engine.dispose()


async def test_the_maintenance_status_is_allowed_after_0010_and_undone_by_its_downgrade(
    empty_url: str,
) -> None:
    """0010 replaces the status CHECKs, keeping the history already recorded (a copy of `site`
    would cascade-delete it on SQLite): `maintenance` is stored, a made-up status still is not,
    and going back turns maintenance into `unknown` rather than failing the older CHECK."""
    engine = create_engine(empty_url)
    insert = text(
        "INSERT INTO site (id, code, name, level, probe_mode, enabled, search_text,"
        " status, status_since, status_reason, created_at, updated_at) VALUES"
        " (:id, :code, 'Hòa An', 'district', 'pull', true, '', :status, :t, '', :t, :t)"
    )
    at = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    try:
        await migrations.upgrade(engine, "0009")
        async with engine.begin() as connection:
            await connection.execute(insert, {"id": 1, "code": "040", "status": "down", "t": at})
            await connection.execute(
                text(
                    "INSERT INTO status_change (site_id, at, old_status, new_status, reason)"
                    " VALUES (1, :t, 'up', 'down', '3 heartbeats missed')"
                ),
                {"t": at},
            )
        await migrations.upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE site SET status = 'maintenance'"))
            await connection.execute(
                text(
                    "INSERT INTO status_change (site_id, at, old_status, new_status, reason)"
                    " VALUES (1, :t, 'down', 'maintenance', 'maintenance: cable')"
                ),
                {"t": at},
            )
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(
                    insert, {"id": 2, "code": "042", "status": "asleep", "t": at}
                )
        await migrations.downgrade(engine, "0009")
        async with engine.connect() as connection:
            status = await connection.scalar(text("SELECT status FROM site"))
            changes = await connection.execute(
                text("SELECT old_status, new_status FROM status_change ORDER BY id")
            )
            history = changes.all()
        assert status == "unknown"
        assert [tuple(row) for row in history] == [("up", "down"), ("down", "unknown")]
    finally:
        await engine.dispose()
