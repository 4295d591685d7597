"""/api/v1/stream: the live feed of the dashboard (Server-Sent Events).

On connect: one `snapshot` (every site, open and recent incidents). Then `update` events, each
the full current state of the sites that changed in the last half second (coalesced per site,
so 3,321 sites cost one message per half second, not one per sample), and `incident` events. A
client that cannot keep up gets `resync` followed by a fresh `snapshot`. A comment line every
15 s keeps proxies from closing the connection and lets the client tell "quiet" from "dead".
While the database cannot be read, a `health` event says so (and another when it is back,
followed by a fresh snapshot); the stream stays open. It ends by itself when the server stops.

Everything but `health`, keep-alives and who the client is comes from the process's live view
(app/live_view.py), built once for all clients: a snapshot never waits for the database.
"""

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.types import Message, Send

from app.deps import Principal, Viewer
from app.health import DatabaseWatch
from app.live_view import COALESCE_SECONDS as COALESCE_SECONDS  # bench/stream_clients.py
from app.live_view import Client, LiveView, sse
from models.base import utcnow

log = logging.getLogger(__name__)
router = APIRouter(tags=["stream"])
KEEPALIVE_SECONDS = 15.0
# Long enough for a 1.5 MB national snapshot over a slow commune link, short enough that a
# client that stopped reading is let go within a minute.
WRITE_TIMEOUT_SECONDS = 60.0
RETRY = b"retry: 2000\n\n"  # EventSource clients reconnect after 2 s
KEEPALIVE = b": keep-alive\n\n"


class _Feed:
    """One dashboard's stream: a snapshot, then the live view's messages; a fresh snapshot
    when it fell behind or when the view was replaced; what the database's state is."""

    def __init__(self, request: Request, me: Principal) -> None:
        self._live: LiveView = request.state.live
        self._database: DatabaseWatch = request.state.database
        self._stopping: asyncio.Event = request.state.stopping.event
        viewer = {"name": me.name, "role": me.role.value, "anonymous": me.anonymous}
        self._me = json.dumps(viewer)
        # What the page was last told of the database: a snapshot clears its warning.
        self._told_reachable = True

    async def messages(self) -> AsyncIterator[bytes]:
        client = self._live.join()
        try:
            yield RETRY
            while not (client.closed or self._stopping.is_set()):
                async for message in self._catch_up(client):
                    yield message
                if messages := client.take():
                    for message in messages:
                        yield message
                elif not await client.wait(KEEPALIVE_SECONDS):
                    yield KEEPALIVE
        finally:
            self._live.leave(client)

    async def _catch_up(self, client: Client) -> AsyncIterator[bytes]:
        """Say whether the database answers when that changed, and send an owed snapshot."""
        if self._database.reachable and not self._told_reachable:
            self._told_reachable = True
            yield sse("health", self._database.public())
        # A first snapshot comes even while the database is out: the view's last state, with
        # the warning after it. A later one waits until the database answers again and the
        # view was read from it: the page keeps its state and its warning meanwhile.
        later = self._database.reachable and self._live.up_to_date
        first = not client.had_snapshot
        if client.snapshot_owed and self._live.seeded and (first or later):
            if client.resync is not None:
                yield sse("resync", {"dropped": client.resync})
            yield self._live.snapshot(client)
            at = json.dumps(utcnow().isoformat())
            yield f', "at": {at}, "me": {self._me}}}\n\n'.encode()
            self._told_reachable = True
        if not self._database.reachable and self._told_reachable:
            self._told_reachable = False  # statuses may be old: the page says so
            yield sse("health", self._database.public())


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
