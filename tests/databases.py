"""Throwaway test databases on the real SQLite and the real PostgreSQL of this machine.

Each backend gets one migrated template per test run; each test gets a fresh copy of it (a file
copy for SQLite, `CREATE DATABASE ... TEMPLATE` for PostgreSQL), so tests never share state.
"""

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from models import migrations
from models.db import asyncpg_dsn, create_engine

# For a test whose subject is the wire, the browser or the page (agents, heartbeats, media, the
# dashboard): the database code it passes through is tested on both backends by the API and
# store tests, so one run on SQLite is enough and keeps CI within its time.
SQLITE_ONLY = pytest.mark.parametrize("databases", ["sqlite"], indirect=True)

POSTGRES_ADMIN_URL = os.environ.get(
    "BRIDGEWATCH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def _admin(sql: str, *args: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=10)
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


def postgres_url(database: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


async def migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()


class SqliteDatabases:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.template = folder / "template.db"

    async def start(self) -> None:
        await migrate(f"sqlite+aiosqlite:///{self.template}")

    @asynccontextmanager
    async def fresh(self) -> AsyncIterator[str]:
        copy = self.folder / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, copy)
        try:
            yield f"sqlite+aiosqlite:///{copy}"
        finally:
            for path in copy.parent.glob(copy.name + "*"):  # the db and its -wal/-shm files
                path.unlink()

    async def stop(self) -> None:
        self.template.unlink(missing_ok=True)


class PostgresDatabases:
    def __init__(self) -> None:
        self.prefix = f"bw_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_template"

    async def start(self) -> None:
        await _admin(f'CREATE DATABASE "{self.template}"')
        await migrate(postgres_url(self.template))

    @asynccontextmanager
    async def fresh(self) -> AsyncIterator[str]:
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        try:
            yield postgres_url(name)
        finally:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def stop(self) -> None:
        await _admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')


def database_name(url: str) -> str:
    name = make_url(url).database
    assert name is not None
    return name


async def block(url: str) -> None:
    """An outage of one database (the shared server runs on): no new connection is let in and
    every open one is cut, as when its host or the link to it goes away."""
    name = database_name(url)
    await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)


async def unblock(url: str) -> None:
    await _admin(f'ALTER DATABASE "{database_name(url)}" ALLOW_CONNECTIONS true')


@asynccontextmanager
async def login_role(url: str) -> AsyncIterator[tuple[str, str]]:
    """A role of its own for one process (a worker), member of the owner of every table; yields
    the role and the URL that logs in with it."""
    role = f"bw_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    owner = make_url(url).username
    await _admin(f'CREATE ROLE "{role}" LOGIN IN ROLE "{owner}"')
    try:
        yield role, make_url(url).set(username=role).render_as_string(hide_password=False)
    finally:
        await cut_off(role)
        await _admin(f'DROP ROLE IF EXISTS "{role}"')


async def cut_off(role: str) -> None:
    """One process loses the database while the others keep it: its role may no longer log in
    and its connections are cut."""
    await _admin(f'ALTER ROLE "{role}" NOLOGIN')
    await _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)


async def let_in(role: str) -> None:
    await _admin(f'ALTER ROLE "{role}" LOGIN')


@asynccontextmanager
async def empty_postgres() -> AsyncIterator[str]:
    """A PostgreSQL database with no schema at all (for migration tests)."""
    name = f"bw_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        await asyncio.shield(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
