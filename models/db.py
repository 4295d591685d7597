"""Async engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionMaker = async_sessionmaker[AsyncSession]

# SQLSTATE classes of a database that cannot take us now, whatever we asked: connection
# exceptions, operator intervention (a restart, terminated backends), insufficient resources
# (too many connections), refused authorisation (a role set to NOLOGIN), no such database, and
# "not accepting connections" (ALLOW_CONNECTIONS false).
OUTAGE_SQLSTATES = ("08", "57", "53", "28", "3D", "55000")
SQLITE_OUTAGES = ("unable to open database file", "database is locked", "disk I/O error")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the recorder writes; foreign keys are off by default in SQLite;
    # busy_timeout turns a writer lock into a wait instead of an error: 30 s, because a command
    # beside the running service (`bridgewatch --demo tokens create`) queues behind its writers
    # (samples, rollups, grouping, the notification outbox) and waited past 5 s on the demo.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """Engine for `url`; creates the SQLite file's folder so a fresh checkout just works."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        # asyncpg: bound every connect and statement so a hung database cannot hang us.
        connect_args={"timeout": 10, "command_timeout": 30},
    )


def is_outage(error: BaseException) -> bool:
    """The database cannot be reached or refuses us as a client: an outage that retrying later
    may cure (HTTP 503), not a statement that was wrong (a bug, or bad input)."""
    seen: BaseException | None = error
    for _ in range(10):  # the chain: SQLAlchemy's error, the adapted one, the driver's
        if seen is None:
            return False
        if isinstance(seen, OSError | exc.TimeoutError | exc.InterfaceError):
            return True  # no route, refused, timed out, pool exhausted, connection gone
        if isinstance(seen, exc.DBAPIError) and seen.connection_invalidated:
            return True
        if any(words in str(seen) for words in SQLITE_OUTAGES):
            return True
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(OUTAGE_SQLSTATES):
            return True
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return False


def asyncpg_dsn(url: str) -> str:
    """The plain libpq URL for a direct asyncpg connection (LISTEN/NOTIFY, admin commands)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def open_database(url: str) -> AsyncIterator[SessionMaker]:
    """Engine + sessionmaker for the duration of a block (CLI commands, tests)."""
    engine = create_engine(url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
