"""What every `bridgewatch` command shares: the `--demo` option, the settings it selects, the
database, and errors said plainly (a message on stderr and exit code 1, never a trace)."""

import asyncio
import socket
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from app.demo import demo_database_path, demo_settings
from models import migrations
from models.db import SessionMaker, create_engine, create_sessionmaker
from models.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """Options of `bridgewatch` itself, before the command."""

    demo: bool = False


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def settings(ctx: typer.Context | None = None) -> Settings:
    """The settings from BRIDGEWATCH_*; those of the demo's database after `bridgewatch --demo`."""
    try:
        config = Settings()
    except ValidationError as exc:
        raise fail(f"bad BRIDGEWATCH_* setting: {exc}") from exc
    options = ctx.find_object(Options) if ctx is not None else None
    if options is not None and options.demo:
        return demo_settings(config)
    return config


def _hint_at_the_demo(config: Settings) -> None:
    """Someone who just ran the demo expects to find its data: say where it is, once."""
    if config.database_url is None and not config.default_database_path.exists():
        demo = demo_database_path(config)
        if demo.exists():
            typer.echo(
                f"note: no database at {config.default_database_path}; the demo's is {demo}: "
                "add --demo (`bridgewatch --demo ...`) to work on it",
                err=True,
            )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a database command; a database that cannot be reached is a clear error, not a trace."""
    try:
        return asyncio.run(coroutine)
    except (OperationalError, DBAPIError, ConnectionError, TimeoutError, socket.gaierror) as exc:
        raise fail(f"database not reachable or refused the command: {exc}") from exc
    except OSError as exc:  # a file: the data dir, or an installation missing one of its own
        raise fail(str(exc)) from exc


@asynccontextmanager
async def database(config: Settings) -> AsyncIterator[SessionMaker]:
    _hint_at_the_demo(config)
    engine = create_engine(config.resolved_database_url)
    try:
        if config.auto_migrate:
            await migrations.upgrade(engine)
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
