"""/api/v1/stream: the live feed of the dashboard (Server-Sent Events).

On connect: one `snapshot` (every site, open and recent incidents). Then `update` events, each
the latest state of the sites that changed in the last half second (coalesced per site, so 3,321
sites cost one message per half second, not one per sample), and `incident` events. A client
that cannot keep up gets `resync` followed by a fresh `snapshot`. A comment line every 15 s
keeps proxies from closing the connection and lets the client tell "quiet" from "dead".
While the database cannot be read, a `health` event says so (and another when it is back,
followed by a fresh snapshot); the stream stays open. It ends by itself when the server stops.
"""

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import or_, select
from starlette.types import Message, Send

from app.deps import Principal, Viewer
from app.health import DatabaseWatch
from app.queries import incident_public, incidents_with_site, site_public, sites_with_parent_code
from models.base import utcnow
from models.db import SessionMaker, is_outage
from models.incident import Incident
from models.site import Site
from monitor.probe.events import (
    Event,
    EventBus,
    IncidentChanged,
    Resync,
    SampleTaken,
    StatusChanged,
    Subscription,
)
from monitor.probe.recorder import latest_figures

log = logging.getLogger(__name__)
router = APIRouter(tags=["stream"])
COALESCE_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
RETRY_SECONDS = 2.0  # a snapshot owed (the database was out) is tried again this often
# Long enough for a 1.5 MB national snapshot over a slow commune link, short enough that a
# client that stopped reading is let go within a minute.
WRITE_TIMEOUT_SECONDS = 60.0
RECENT_INCIDENTS = 100
QUEUE_EVENTS = 20_000
GATHER_SECONDS = 0.1


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {_json_text(data)}\n\n"


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=_json)


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


class SnapshotReader:
    """Every site and the incidents worth showing, read once for all clients connecting together.

    The national map is 1.5 MB and a third of a second of database and CPU work: 200 dashboards
    opening at once must not each read it (they exhausted the connection pool in
    bench/stream_clients.py). A client may only use a read that began after it subscribed to
    the bus, or a change in between could be lost, so a read waits GATHER_SECONDS for company
    before it begins and then takes no newcomers.
    """

    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker
        self._gathering: asyncio.Task[str] | None = None

    async def snapshot(self, me: Principal) -> str:
        if self._gathering is None:
            self._gathering = asyncio.create_task(self._read())
        # Shielded: one client leaving must not cancel the read the others wait for.
        shared = await asyncio.shield(self._gathering)
        viewer = {"name": me.name, "role": me.role.value, "anonymous": me.anonymous}
        return f'event: snapshot\ndata: {shared[:-1]}, "me": {json.dumps(viewer)}}}\n\n'

    async def _read(self) -> str:
        await asyncio.sleep(GATHER_SECONDS)
        self._gathering = None  # from here on, a newcomer needs a later read
        async with self._sessionmaker() as session:
            sites = await session.execute(sites_with_parent_code().order_by(Site.code))
            incidents = await session.execute(
                incidents_with_site()
                .where(or_(Incident.closed_at.is_(None), Incident.id.in_(_recent_ids())))
                .order_by(Incident.opened_at.desc())
            )
            body = {
                "at": utcnow(),
                "sites": [site_public(site, parent) for site, parent in sites],
                "incidents": [incident_public(*row) for row in incidents],
            }
        return _json_text(body)


def _recent_ids() -> Any:
    return (
        select(Incident.id).order_by(Incident.opened_at.desc()).limit(RECENT_INCIDENTS)
    ).scalar_subquery()


async def _incident(sessionmaker: SessionMaker, change: IncidentChanged) -> str | None:
    async with sessionmaker() as session:
        row = (
            await session.execute(incidents_with_site().where(Incident.id == change.incident_id))
        ).first()
    if row is None:
        return None
    return _sse(
        "incident", {"state": change.state, **incident_public(*row).model_dump(mode="json")}
    )


def _merge(pending: dict[str, dict[str, Any]], event: SampleTaken | StatusChanged) -> None:
    site = pending.setdefault(event.site_code, {"code": event.site_code})
    if isinstance(event, StatusChanged):
        site.update(status=event.new, status_since=event.at, status_reason=event.reason)
    else:
        site.update(latest=latest_figures(event), last_seen_at=event.last_seen_at)
        if event.status is not None and "status_reason" not in site:
            site.update(status=event.status, status_since=event.status_since)


class _Feed:
    """One dashboard's stream: a snapshot, then coalesced updates and incidents; a fresh
    snapshot when it fell behind or when the database, which it could not read, is back."""

    def __init__(self, request: Request, me: Principal) -> None:
        self._me = me
        self._bus: EventBus = request.state.bus
        self._sessionmaker: SessionMaker = request.state.sessionmaker
        self._snapshots: SnapshotReader = request.state.snapshots
        self._database: DatabaseWatch = request.state.database
        self._stopping: asyncio.Event = request.state.stopping.event
        self._owed = True  # a snapshot is owed: at connect, after a resync or a failed read
        self._told_reachable = True  # what this client was last told of the database

    async def messages(self) -> AsyncIterator[str]:
        # Subscribe before reading the snapshot: a change in between is sent twice, never lost.
        subscription = self._bus.subscribe("stream", maxsize=QUEUE_EVENTS)
        stop = asyncio.create_task(self._stopping.wait())
        try:
            yield "retry: 2000\n\n"  # EventSource clients reconnect after 2 s
            async for message in self._catch_up():
                yield message
            while True:
                events = await self._next(subscription, stop)
                if stop.done():
                    return  # the server is stopping: end cleanly, the client reconnects
                if events is None:
                    yield ": keep-alive\n\n"
                async for message in self._deliver(events or []):
                    yield message
        finally:
            stop.cancel()
            self._bus.unsubscribe(subscription)

    async def _next(
        self, subscription: Subscription, stop: "asyncio.Task[bool]"
    ) -> list[Event] | None:
        """The events of the next half second; None when the database's state changed or after
        a quiet keep-alive period."""
        wait = RETRY_SECONDS if self._owed else KEEPALIVE_SECONDS
        first = asyncio.create_task(subscription.get())
        change = asyncio.create_task(self._database.change())
        await asyncio.wait({first, stop, change}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        change.cancel()
        if not first.done():
            first.cancel()
            return None
        # Let half a second of changes gather: one wake-up per update, not per event.
        await asyncio.sleep(COALESCE_SECONDS)
        return [first.result(), *subscription.drain(QUEUE_EVENTS)]

    async def _deliver(self, events: list[Event]) -> AsyncIterator[str]:
        pending: dict[str, dict[str, Any]] = {}
        incidents: list[IncidentChanged] = []
        for event in events:
            if isinstance(event, Resync):
                pending.clear()
                self._owed = True
                yield _sse("resync", {"dropped": event.dropped})
            elif isinstance(event, SampleTaken | StatusChanged):
                _merge(pending, event)
            else:
                incidents.append(event)
        async for message in self._catch_up():
            yield message
        for change in incidents:
            if told := await self._read(_incident(self._sessionmaker, change)):
                yield told
        if pending:
            yield _sse("update", {"at": utcnow(), "sites": list(pending.values())})

    async def _catch_up(self) -> AsyncIterator[str]:
        """Say whether the database answers when that changed, and send an owed snapshot."""
        if self._database.reachable != self._told_reachable:
            self._told_reachable = self._database.reachable
            self._owed = self._owed or self._told_reachable  # back: re-read what was missed
            yield _sse("health", self._database.public())
        if self._owed and self._database.reachable:
            snapshot = await self._read(self._snapshots.snapshot(self._me))
            if snapshot is not None:
                self._owed = False
                yield snapshot
            elif not self._database.reachable:
                self._told_reachable = False
                yield _sse("health", self._database.public())

    async def _read(self, reading: Awaitable[str | None]) -> str | None:
        """A read of the database; None if it cannot be reached (and a snapshot is owed)."""
        try:
            return await reading
        except Exception as exc:
            if not is_outage(exc):
                raise
            self._database.failed(exc)
            self._owed = True
            return None


class _EventStream(StreamingResponse):
    """An event stream whose every write must go through within WRITE_TIMEOUT_SECONDS: a client
    that stops reading (a frozen tab, a link gone dead with its socket open) is let go instead
    of holding its connection and its queue for ever."""

    async def stream_response(self, send: Send) -> None:
        async def bounded(message: Message) -> None:
            async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
                await send(message)

        try:
            await super().stream_response(bounded)
        except TimeoutError:
            log.warning("a live stream client stopped reading; let go")
            if isinstance(self.body_iterator, AsyncGenerator):
                await self.body_iterator.aclose()


@router.get(
    "/stream",
    summary="Live feed (Server-Sent Events): snapshot, then updates",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(request: Request, me: Viewer) -> StreamingResponse:
    return _EventStream(
        _Feed(request, me).messages(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
