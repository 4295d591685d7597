"""/api/v1/stream: the live feed of the dashboard (Server-Sent Events).

On connect: one `snapshot` (every site, open and recent incidents). Then `update` events, each
the latest state of the sites that changed in the last half second (coalesced per site, so 3,321
sites cost one message per half second, not one per sample), and `incident` events. A client
that cannot keep up gets `resync` followed by a fresh `snapshot`. A comment line every 15 s
keeps proxies from closing the connection and lets the client tell "quiet" from "dead".
"""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import or_, select

from app.api.incidents import incident_public, incidents_with_site
from app.api.sites import site_public, sites_with_parent_code
from app.deps import Principal, Viewer
from models.base import utcnow
from models.db import SessionMaker
from models.incident import Incident
from models.site import Site
from monitor.events import EventBus, IncidentChanged, Resync, SampleTaken, StatusChanged
from monitor.recorder import latest_figures

router = APIRouter(tags=["stream"])
COALESCE_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
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


async def _events(request: Request, me: Viewer) -> AsyncIterator[str]:
    bus: EventBus = request.state.bus
    sessionmaker: SessionMaker = request.state.sessionmaker
    snapshots: SnapshotReader = request.state.snapshots
    # Subscribe before reading the snapshot: a change in between is sent twice, never lost.
    subscription = bus.subscribe("stream", maxsize=QUEUE_EVENTS)
    try:
        yield "retry: 2000\n\n"  # EventSource clients reconnect after 2 s
        yield await snapshots.snapshot(me)
        while True:
            try:
                first = await asyncio.wait_for(subscription.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            # Let half a second of changes gather: one wake-up per update, not per event.
            await asyncio.sleep(COALESCE_SECONDS)
            pending: dict[str, dict[str, Any]] = {}
            for event in [first, *subscription.drain(QUEUE_EVENTS)]:
                if isinstance(event, Resync):
                    pending.clear()
                    yield _sse("resync", {"dropped": event.dropped})
                    yield await snapshots.snapshot(me)
                elif isinstance(event, SampleTaken | StatusChanged):
                    _merge(pending, event)
                elif message := await _incident(sessionmaker, event):
                    yield message
            if pending:
                yield _sse("update", {"at": utcnow(), "sites": list(pending.values())})
    finally:
        bus.unsubscribe(subscription)


@router.get(
    "/stream",
    summary="Live feed (Server-Sent Events): snapshot, then updates",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(request: Request, me: Viewer) -> StreamingResponse:
    return StreamingResponse(
        _events(request, me),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
