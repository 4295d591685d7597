"""Request dependencies: one database session per request, the caller's identity and role."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypedDict

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession

from app.database_figures import DatabaseFigures
from app.health import DatabaseWatch
from app.live_view import LiveView
from app.stopping import Stopping
from models.auth import Role, find_token
from models.base import utcnow
from models.db import SessionMaker
from models.settings import Settings
from monitor.probe.engine import ProbeEngine
from monitor.probe.events import EventBus


class State(TypedDict):
    """What the lifespan hands to every request (`request.state`)."""

    settings: Settings
    sessionmaker: SessionMaker
    bus: EventBus
    probe_engine: ProbeEngine | None  # None when BRIDGEWATCH_ENGINE=false (API-only process)
    registry: CollectorRegistry
    live: LiveView  # what the dashboard shows, for the live stream (not run in workers)
    database: DatabaseWatch  # whether the database answers, for the live stream and /readyz
    stopping: Stopping  # set when the server begins to stop: live streams end then
    figures: list[DatabaseFigures[Any]]  # /metrics figures from the database (not in workers)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: SessionMaker = request.state.sessionmaker
    async with sessionmaker() as session:
        yield session


def probe_engine_of(request: Request) -> ProbeEngine | None:
    probe_engine: ProbeEngine | None = request.state.probe_engine
    return probe_engine


def bus_of(request: Request) -> EventBus:
    bus: EventBus = request.state.bus
    return bus


def live_view_of(request: Request) -> LiveView:
    live: LiveView = request.state.live
    return live


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ProbeEngineDep = Annotated[ProbeEngine | None, Depends(probe_engine_of)]
LiveViewDep = Annotated[LiveView, Depends(live_view_of)]
BusDep = Annotated[EventBus, Depends(bus_of)]
SettingsDep = Annotated[Settings, Depends(settings_of)]


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    anonymous: bool = False


# How often a token's `last_used_at` is written: often enough to spot stale tokens, rarely
# enough that reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer bw_...`")
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


async def current_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        if settings.anonymous_read:
            return Principal("anonymous", Role.VIEWER, anonymous=True)
        raise HTTPException(401, "a bearer token is required", headers=UNAUTHORIZED)
    token = await find_token(session, credentials.credentials)
    now = utcnow()
    if token is None or not token.is_valid(now):
        raise HTTPException(401, "the token is unknown, revoked or expired", headers=UNAUTHORIZED)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        await session.commit()
    return Principal(token.name, token.role)


def require(role: Role) -> object:
    """Dependency that lets the request through only for `role` or a higher one."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.anonymous and role is not Role.VIEWER:
            raise HTTPException(401, "a bearer token is required", headers=UNAUTHORIZED)
        if not principal.role.allows(role):
            raise HTTPException(403, f"this needs the {role} role; the token has {principal.role}")
        return principal

    return Depends(check)


Viewer = Annotated[Principal, require(Role.VIEWER)]
Operator = Annotated[Principal, require(Role.OPERATOR)]
Admin = Annotated[Principal, require(Role.ADMIN)]
