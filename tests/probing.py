"""Helpers for tests with real WebRTC peers: fast probe settings, sites with agents, servers."""

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from aiortc import RTCPeerConnection
from sqlalchemy import select
from starlette.types import ASGIApp

from models.db import SessionMaker
from models.settings import Settings
from models.site import ProbeMode, Site
from monitor.probe.credentials import issue_agent_secret
from monitor.wire.ice import rtc_configuration
from monitor.wire.peer import close_quietly, make_offer, offering_channel
from tests.service import free_port

# Heartbeats at 2 Hz and 1 s windows keep the tests short; the logic is the same as at 1 Hz/10 s.
FAST = {
    "engine": True,
    "ice_host_addresses": ["127.0.0.1"],
    "heartbeat_interval_seconds": 0.5,
    "heartbeat_timeout_seconds": 0.5,
    "window_seconds": 1.0,
    "recorder_flush_seconds": 0.2,
    "setup_timeout_seconds": 5.0,
    "reconnect_backoff_max_seconds": 2.0,
    "push_grace_seconds": 3.0,
}
# The noisy 2-core machine: waits are generous; what is asserted is the outcome, not the speed.
DEADLINE_SECONDS = 45.0


def fast(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(update={**FAST, **overrides})


async def give_agent(
    sessionmaker: SessionMaker, code: str, target: str | None, mode: ProbeMode = ProbeMode.PULL
) -> str:
    """Point the site at its agent and issue its secret; returns the secret."""
    async with sessionmaker() as session:
        site = await session.scalar(select(Site).where(Site.code == code))
        assert site is not None
        site.probe_mode = mode
        site.probe_target = target
        secret = await issue_agent_secret(session, site)
        await session.commit()
    return secret


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, port: int | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app on a real loopback socket in this event loop; yields its base URL.

    The test binds the socket itself: a port that is taken fails here as a plain OSError, where
    uvicorn would `sys.exit()` inside the server task and take the test's event loop down.
    """
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port or free_port()))
    config = uvicorn.Config(app, log_config=None, lifespan="on")
    server = uvicorn.Server(config)

    async def serve() -> None:
        try:
            await server.serve(sockets=[listener])
        except SystemExit as exit:  # uvicorn's way of saying the app's startup failed
            raise RuntimeError("the served app did not start") from exit

    task = asyncio.create_task(serve())
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, DEADLINE_SECONDS)
        listener.close()


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, deadline: float = DEADLINE_SECONDS
) -> float:
    """Poll `check` until it holds; returns the seconds it took, fails after `deadline`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > deadline:
            raise AssertionError(f"not within {deadline:.0f} s: {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def data_channel_offer() -> str:
    """A real aiortc offer with the `bridgewatch` channel, its peer closed again."""
    pc = RTCPeerConnection(rtc_configuration([]))
    offering_channel(pc)
    try:
        return await make_offer(pc)
    finally:
        await close_quietly(pc)


async def site_status(client: httpx.AsyncClient, code: str, headers: dict[str, str]) -> str:
    response = await client.get(f"/api/v1/sites/{code}", headers=headers)
    status: str = response.json()["status"]
    return status
