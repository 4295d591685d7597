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
from sqlalchemy.engine import make_url

from models import migrations
from models.db import asyncpg_dsn, create_engine

POSTGRES_ADMIN_URL = os.environ.get(
    "BRIDGEWATCH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=10)
    try:
        await connection.execute(sql)
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


@asynccontextmanager
async def empty_postgres() -> AsyncIterator[str]:
    """A PostgreSQL database with no schema at all (for migration tests)."""
    name = f"bw_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        await asyncio.shield(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
