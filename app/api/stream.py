"""/api/v1/stream: the live feed of the dashboard (Server-Sent Events).

On connect: one `snapshot` (every site, open and recent incidents). Then `update` events, each
the latest state of the sites that changed in the last half second (coalesced per site, so 3,321
sites cost one message per half second, not one per sample), and `incident` events. A client
that cannot keep up gets `resync` followed by a fresh `snapshot`. A comment line every 15 s
keeps proxies from closing the connection and lets the client tell "quiet" from "dead".
"""

import asyncio
import contextlib
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
from app.deps import Viewer
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


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=_json)}\n\n"


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


async def _snapshot(sessionmaker: SessionMaker, me: Viewer) -> str:
    async with sessionmaker() as session:
        sites = await session.execute(sites_with_parent_code().order_by(Site.code))
        incidents = await session.execute(
            incidents_with_site()
            .where(or_(Incident.closed_at.is_(None), Incident.id.in_(_recent_ids())))
            .order_by(Incident.opened_at.desc())
        )
        body = {
            "at": utcnow(),
            "me": {"name": me.name, "role": me.role.value, "anonymous": me.anonymous},
            "sites": [site_public(site, parent) for site, parent in sites],
            "incidents": [incident_public(*row) for row in incidents],
        }
    return _sse("snapshot", body)


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
        site.update(status=event.new, status_since=event.at, reason=event.reason)
    else:
        site.update(latest=latest_figures(event), last_seen_at=event.last_seen_at)
        if event.status is not None and "reason" not in site:
            site.update(status=event.status, status_since=event.status_since)


async def _events(request: Request, me: Viewer) -> AsyncIterator[str]:
    bus: EventBus = request.state.bus
    sessionmaker: SessionMaker = request.state.sessionmaker
    # Subscribe before reading the snapshot: a change in between is sent twice, never lost.
    subscription = bus.subscribe("stream", maxsize=QUEUE_EVENTS)
    try:
        yield "retry: 2000\n\n"  # EventSource clients reconnect after 2 s
        yield await _snapshot(sessionmaker, me)
        loop = asyncio.get_running_loop()
        pending: dict[str, dict[str, Any]] = {}
        flush_at = keepalive_at = loop.time() + KEEPALIVE_SECONDS
        while True:
            wait = (flush_at if pending else keepalive_at) - loop.time()
            event = None
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(subscription.get(), max(0.0, wait))
            if isinstance(event, Resync):
                pending.clear()
                yield _sse("resync", {"dropped": event.dropped})
                yield await _snapshot(sessionmaker, me)
            elif isinstance(event, SampleTaken | StatusChanged):
                if not pending:
                    flush_at = loop.time() + COALESCE_SECONDS
                _merge(pending, event)
            elif isinstance(event, IncidentChanged) and (
                message := await _incident(sessionmaker, event)
            ):
                yield message
            now = loop.time()
            if pending and now >= flush_at:
                yield _sse("update", {"at": utcnow(), "sites": list(pending.values())})
                pending = {}
                keepalive_at = now + KEEPALIVE_SECONDS
            elif not pending and now >= keepalive_at:
                yield ": keep-alive\n\n"
                keepalive_at = now + KEEPALIVE_SECONDS
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
