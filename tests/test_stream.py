"""The live stream as the dashboard reads it: a snapshot, then changes as they happen."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api import stream
from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.settings import Settings
from models.topology.builtin import seed_if_empty
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.probe.events import EventBus, Resync
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.browser import serve
from tests.databases import SQLITE_ONLY
from tests.probing import DEADLINE_SECONDS, eventually, fast, give_agent, serving
from tests.service import free_port

Headers = dict[Role, dict[str, str]]


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) pairs of a Server-Sent Events response."""
    name, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data += line.removeprefix("data: ")
        elif line == "" and data:
            yield name, json.loads(data)
            name, data = "message", ""


async def test_snapshot_then_live_changes_and_incidents(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port, victim_port = free_port(), free_port()
    secret = await give_agent(seeded, "01267", f"http://127.0.0.1:{port}/01267")
    victim_secret = await give_agent(seeded, "01270", f"http://127.0.0.1:{victim_port}/01270")
    rtc = rtc_configuration([])
    agent = SiteAgent("01267", secret, rtc, lambda: Report(attendance=30))
    victim = SiteAgent("01270", victim_secret, rtc)
    statuses: dict[str, str] = {}
    seen_incident: dict[str, Any] = {}
    try:
        async with (
            serving(agent_app({"01267": agent}), port),
            serving(create_app(fast(settings))) as base,
            httpx.AsyncClient(base_url=base, timeout=DEADLINE_SECONDS) as client,
        ):
            assert (await client.get("/api/v1/stream")).status_code == 401
            async with (
                serving(agent_app({"01270": victim}), victim_port),
                client.stream("GET", "/api/v1/stream", headers=auth[Role.VIEWER]) as response,
            ):
                assert response.headers["content-type"].startswith("text/event-stream")
                stream = events(response)
                kind, snapshot = await anext(stream)
                assert kind == "snapshot" and len(snapshot["sites"]) == 172
                assert snapshot["me"] == {
                    "name": "test-viewer",
                    "role": "viewer",
                    "anonymous": False,
                }
                async for kind, data in stream:
                    if kind == "update":
                        statuses.update(
                            {s["code"]: s["status"] for s in data["sites"] if "status" in s}
                        )
                    if statuses.get("01267") == statuses.get("01270") == "up":
                        break
            await victim.close()
            async with client.stream(
                "GET", "/api/v1/stream", headers=auth[Role.VIEWER]
            ) as response:
                async for kind, data in events(response):
                    if kind == "update":
                        statuses.update(
                            {s["code"]: s["status"] for s in data["sites"] if "status" in s}
                        )
                    # Not the close of an episode from before (a degraded start-up, its
                    # close announced once the recorder wrote it, after the status update).
                    if kind == "incident" and data["state"] != "closed":
                        seen_incident = data
                    if statuses.get("01270") == "down" and seen_incident:
                        break
    finally:
        await agent.close()
        await victim.close()
    assert seen_incident["site_code"] == "01270" and seen_incident["state"] == "opened"
    assert seen_incident["severity"] == "down" and seen_incident["closed_at"] is None
    assert statuses["01267"] == "up"


async def test_updates_carry_the_latest_figures(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    secret = await give_agent(seeded, "040", f"http://127.0.0.1:{port}/040")
    agent = SiteAgent("040", secret, rtc_configuration([]), lambda: Report(attendance=44))
    latest: dict[str, Any] = {}
    try:
        async with (
            serving(agent_app({"040": agent}), port),
            serving(create_app(fast(settings))) as base,
            httpx.AsyncClient(base_url=base, timeout=DEADLINE_SECONDS) as client,
            client.stream("GET", "/api/v1/stream", headers=auth[Role.VIEWER]) as response,
        ):

            async def figures_arrive() -> bool:
                async for kind, data in events(response):
                    for site in data.get("sites", []) if kind == "update" else []:
                        if site["code"] == "040" and (site.get("latest") or {}).get("attendance"):
                            latest.update(site["latest"])
                            return True
                return False

            async with asyncio.timeout(DEADLINE_SECONDS):  # a stream never ends by itself
                assert await figures_arrive()
    finally:
        await agent.close()
    assert latest["attendance"] == 44 and latest["reachable"] is True
    assert 0 < latest["rtt_median_seconds"] < 1 and latest["mos"] > 4


@SQLITE_ONLY
async def test_a_hundred_dashboards_opening_at_once_on_the_national_map_all_get_it(
    settings: Settings, sessionmaker: SessionMaker
) -> None:
    # A national conference at 7:45: every province's screens open the page within a second.
    await seed_if_empty(sessionmaker, "vietnam-2025")
    app = create_app(settings.model_copy(update={"anonymous_read": True}))
    async with (
        serving(app) as base,
        httpx.AsyncClient(base_url=base, timeout=DEADLINE_SECONDS) as client,
    ):

        async def open_dashboard() -> int:
            async with client.stream("GET", "/api/v1/stream") as response:
                kind, snapshot = await anext(events(response))
            assert kind == "snapshot" and snapshot["me"]["anonymous"] is True
            return len(snapshot["sites"])

        sizes = await asyncio.wait_for(
            asyncio.gather(*(open_dashboard() for _ in range(100))), 2 * DEADLINE_SECONDS
        )
    assert sizes == [3356] * 100


async def test_a_client_that_stops_reading_is_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wall screen whose tab froze (or whose link died with its socket open) reads nothing:
    once the buffers between us are full, a write that does not go through in time ends its
    stream, and the service stops holding the connection and the queue for it."""
    monkeypatch.setattr(stream, "WRITE_TIMEOUT_SECONDS", 2.0)  # a minute in service
    # The national map: its 1.5 MB snapshots fill the buffers within seconds. The database
    # plays no part here, so SQLite alone.
    national = Settings(
        data_dir=tmp_path, seed_topology="vietnam-2025", engine=False, anonymous_read=True
    )
    async with serve(create_app(national)) as service:
        bus: EventBus = service.server.lifespan.state["bus"]
        frozen = socket.socket()
        frozen.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        frozen.connect(("127.0.0.1", service.port))
        frozen.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: test\r\n\r\n")
        try:
            async with httpx.AsyncClient(base_url=service.base) as client:

                async def streams() -> int:
                    text = (await client.get("/metrics")).text
                    return int(float(text.split("\nbridgewatch_stream_subscribers ")[1].split()[0]))

                async def let_go() -> bool:
                    # Loopback's kernel buffers take megabytes: each resync makes the stream
                    # write a whole snapshot.
                    bus.publish(Resync(1))
                    await asyncio.sleep(0.5)
                    return await streams() == 0

                async def held() -> bool:
                    return await streams() == 1

                await eventually(held, "the frozen client's stream is open")
                await eventually(let_go, "the frozen client is let go")
        finally:
            frozen.close()
