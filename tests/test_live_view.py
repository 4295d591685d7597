"""The live view on its own (app/live_view.py): one state per process, fed by the bus, corrected
from the database without undoing what the bus said later than the database knows."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app import live_view
from app.health import DatabaseWatch
from app.live_view import Client, LiveView
from models.base import utcnow
from models.db import SessionMaker
from models.site import Site, SiteStatus
from monitor.probe.events import EventBus, StatusChanged
from tests.databases import SQLITE_ONLY
from tests.probing import eventually

# The view reads the database as the API does (tested on both elsewhere): SQLite is enough.


@contextlib.asynccontextmanager
async def running(sessionmaker: SessionMaker) -> AsyncIterator[tuple[LiveView, EventBus]]:
    bus = EventBus()
    view = LiveView(sessionmaker, bus, DatabaseWatch(sessionmaker), asyncio.Event())
    await view.start()
    try:
        yield view, bus
    finally:
        await view.stop()


def snapshot_of(view: LiveView, client: Client) -> dict[str, Any]:
    """The snapshot the stream would send `client`, as the page parses it."""
    data = view.snapshot(client).decode().removeprefix("event: snapshot\ndata: ")
    parsed: dict[str, Any] = json.loads(data + "}")
    return parsed


def sites_of(view: LiveView) -> dict[str, dict[str, Any]]:
    client = view.join()
    try:
        return {site["code"]: site for site in snapshot_of(view, client)["sites"]}
    finally:
        view.leave(client)


def updates(messages: list[bytes]) -> list[dict[str, Any]]:
    """The data of the `update` events among `messages`."""
    found = []
    for message in messages:
        name, data = message.decode().split("\n")[:2]
        if name == "event: update":
            found.append(json.loads(data.removeprefix("data: ")))
    return found


async def site_id(sessionmaker: SessionMaker, code: str) -> int:
    async with sessionmaker() as session:
        found = await session.scalar(select(Site.id).where(Site.code == code))
    assert found is not None
    return found


@SQLITE_ONLY
async def test_every_client_gets_the_same_update_at_most_every_half_second(
    seeded: SessionMaker,
) -> None:
    ids = {code: await site_id(seeded, code) for code in ("01267", "01270")}
    async with running(seeded) as (view, bus):
        clients = [view.join() for _ in range(3)]
        for client in clients:
            view.snapshot(client)
        started = asyncio.get_running_loop().time()
        for i in range(12):  # 1.2 s of changes, 20 a second
            for code in ids:
                status = SiteStatus.UP if i % 2 else SiteStatus.DOWN  # up last
                bus.publish(
                    StatusChanged(ids[code], code, SiteStatus.UNKNOWN, status, "", utcnow())
                )
            await asyncio.sleep(0.1)
        await asyncio.sleep(live_view.COALESCE_SECONDS + 0.3)
        elapsed = asyncio.get_running_loop().time() - started
        received = [client.take() for client in clients]
    assert received[0] and all(len(r) == len(received[0]) for r in received)
    # One message, built once, handed to every client.
    assert all(a is b for r in received[1:] for a, b in zip(received[0], r, strict=True))
    assert len(received[0]) <= elapsed / live_view.COALESCE_SECONDS + 1
    last = updates(received[0])[-1]["sites"]
    # Each site in its full current state, as the snapshot has it.
    assert {site["code"] for site in last} == set(ids)
    assert all(site["status"] == "up" and "name" in site for site in last)


@SQLITE_ONLY
async def test_a_reseed_keeps_what_the_bus_said_after_the_database(
    seeded: SessionMaker,
) -> None:
    """A change announced and not yet written survives a reseed; a change written later than
    it (an operator pausing the site) wins over it."""
    ids = {code: await site_id(seeded, code) for code in ("01267", "01270")}
    async with running(seeded) as (view, bus):
        announced = utcnow()
        for code in ids:
            bus.publish(
                StatusChanged(
                    ids[code], code, SiteStatus.UNKNOWN, SiteStatus.DOWN, "lost", announced
                )
            )
        await eventually(
            lambda: _status_is(view, "01267", "down"), "the view follows the bus", deadline=10
        )
        async with seeded() as session:
            site = await session.scalar(select(Site).where(Site.code == "01270"))
            assert site is not None
            site.assign({"enabled": False})  # paused, from now: later than the announcement
            await session.commit()
        client = view.join()
        view.snapshot(client)
        view.site_edited()
        await eventually(
            lambda: _status_is(view, "01270", "paused"), "the later write wins", deadline=10
        )
        assert sites_of(view)["01267"]["status"] == "down"
        assert sites_of(view)["01267"]["status_reason"] == "lost"
        # Told to the open client as an update of that site, not as a fresh snapshot.
        await asyncio.sleep(live_view.COALESCE_SECONDS + 0.3)
        told = [site for update in updates(client.take()) for site in update["sites"]]
        assert [site["code"] for site in told] == ["01270"] and not client.snapshot_owed


@SQLITE_ONLY
async def test_the_periodic_reseed_closes_a_gap_by_itself(
    seeded: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status written by another process with no event on this bus (plain SQL here) reaches
    the view and its open clients within the reseed period, and nothing else is sent."""
    monkeypatch.setattr(live_view, "RESEED_SECONDS", 1.0)
    async with running(seeded) as (view, _bus):
        client = view.join()
        view.snapshot(client)
        async with seeded() as session:
            await session.execute(
                update(Site)
                .where(Site.code == "01273")
                .values(status=SiteStatus.DEGRADED, status_since=utcnow() + timedelta(seconds=1))
            )
            await session.commit()
        await eventually(
            lambda: _status_is(view, "01273", "degraded"),
            "the periodic check finds it",
            deadline=10,
        )
        await asyncio.sleep(live_view.COALESCE_SECONDS + 0.3)
        told = [site["code"] for update in updates(client.take()) for site in update["sites"]]
    assert told == ["01273"]


def test_a_client_that_falls_behind_owes_a_snapshot_and_is_told_what_it_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live_view, "CLIENT_QUEUE_BYTES", 100)
    client = Client()
    client.put(b"x" * 10)
    assert client.take() == []  # nothing before its first snapshot: the snapshot holds it
    client.took_snapshot()
    for _ in range(4):
        client.put(b"y" * 30)
    assert client.snapshot_owed and client.resync == 4 and client.take() == []
    client.took_snapshot()
    client.put(b"z" * 30)
    assert client.take() == [b"z" * 30] and client.resync is None


async def _status_is(view: LiveView, code: str, status: str) -> bool:
    return bool(sites_of(view)[code]["status"] == status)
