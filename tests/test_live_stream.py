"""The live stream and the database disagreeing for a while, as they do: the recorder writes a
second or more after the engine announces a change (here much longer), and some writes come
from elsewhere. What a dashboard shows must follow the announcements, whenever it connected.

Only the stream's wire format is used here (no module of the service's but its app), so each
test also tells whether an older service had the gap.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker, open_database
from models.incident import Incident
from models.settings import Settings
from models.site import Site, SiteStatus
from models.topology.builtin import seed_if_empty
from monitor.probe.events import EventBus, IncidentChanged, StatusChanged
from tests.browser import Service, serve
from tests.databases import SQLITE_ONLY, PostgresDatabases, block, unblock
from tests.probing import DEADLINE_SECONDS, eventually, fast

# What is tested is the service's own state, not the database's dialect: SQLite is enough.

CYCLE = [SiteStatus.DOWN, SiteStatus.DEGRADED, SiteStatus.UP, SiteStatus.PAUSED]


class Wall:
    """A dashboard's copy of the state, fed by /api/v1/stream as the page feeds its own."""

    def __init__(self, base: str) -> None:
        self.sites: dict[str, dict[str, Any]] = {}
        self.incidents: dict[int, dict[str, Any]] = {}
        self.events: list[tuple[str, Any]] = []
        self._task = asyncio.create_task(self._read(base))

    async def _read(self, base: str) -> None:
        async with (
            httpx.AsyncClient(base_url=base, timeout=DEADLINE_SECONDS) as client,
            client.stream("GET", "/api/v1/stream") as response,
        ):
            name, data = "message", ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data += line.removeprefix("data: ")
                elif line == "" and data:
                    self._apply(name, json.loads(data))
                    name, data = "message", ""

    def _apply(self, name: str, data: Any) -> None:
        self.events.append((name, data))
        if name == "snapshot":
            self.sites = {site["code"]: site for site in data["sites"]}
            self.incidents = {incident["id"]: incident for incident in data["incidents"]}
        elif name == "update":
            for site in data["sites"]:
                if site["code"] in self.sites:
                    self.sites[site["code"]].update(site)
        elif name == "incident":
            self.incidents[data["id"]] = data

    def snapshots(self) -> int:
        return [name for name, _ in self.events].count("snapshot")

    def statuses(self) -> dict[str, str]:
        return {code: site["status"] for code, site in self.sites.items()}

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def wall(service: Service) -> AsyncIterator[Wall]:
    """A dashboard connected to the service, holding its first snapshot."""
    connected = Wall(service.base)
    try:
        await eventually(lambda: _has_snapshot(connected), "the wall has its snapshot")
        yield connected
    finally:
        await connected.close()


async def _has_snapshot(connected: Wall) -> bool:
    return connected.snapshots() > 0


async def site_ids(sessionmaker: SessionMaker) -> dict[str, int]:
    async with sessionmaker() as session:
        return {code: id for code, id in await session.execute(select(Site.code, Site.id))}


def bus_of(service: Service) -> EventBus:
    bus: EventBus = service.server.lifespan.state["bus"]
    return bus


@SQLITE_ONLY
async def test_a_change_not_yet_written_is_in_the_snapshot_of_a_dashboard_opened_after_it(
    settings: Settings, seeded: SessionMaker
) -> None:
    """The engine announces a site down; the recorder will write it in a minute. A dashboard
    opened meanwhile shows it down, in its very first snapshot. (Its snapshot used to be read
    from the database: the site stayed `unknown` there until it changed again.)"""
    slow_recorder = fast(settings, anonymous_read=True, recorder_flush_seconds=60.0)
    ids = await site_ids(seeded)
    async with serve(create_app(slow_recorder)) as service:
        bus_of(service).publish(
            StatusChanged(
                ids["01267"],
                "01267",
                SiteStatus.UNKNOWN,
                SiteStatus.DOWN,
                "3 heartbeats missed",
                utcnow(),
            )
        )

        async def opened_down() -> bool:
            async with wall(service) as opened:
                first = {s["code"]: s for s in opened.events[0][1]["sites"]}
                return bool(first["01267"]["status"] == "down")

        await eventually(opened_down, "a dashboard opened after the change shows it")
        async with seeded() as session:
            stored = await session.scalar(select(Site.status).where(Site.code == "01267"))
        assert stored is SiteStatus.UNKNOWN  # the recorder has not written it yet
        async with wall(service) as opened:
            assert opened.sites["01267"]["status_reason"] == "3 heartbeats missed"


@SQLITE_ONLY
async def test_a_dashboard_connecting_in_the_middle_of_a_burst_of_changes_ends_up_right(
    settings: Settings, seeded: SessionMaker
) -> None:
    """100 status changes a second that no recorder writes (this service has no engine: the
    database never learns them, the gap at its widest); a dashboard opens halfway through. Once
    the burst is over it shows every site's last status, those that changed only before it
    connected included."""
    ids = await site_ids(seeded)
    codes = sorted(code for code in ids if code != "04")  # the hub is not probed
    published: dict[str, str] = {}

    def burst(bus: EventBus, round_: int) -> None:
        for i in range(10):
            k = round_ * 10 + i
            code = codes[k * 7 % len(codes)]
            new = CYCLE[(round_ + i) % len(CYCLE)]
            bus.publish(StatusChanged(ids[code], code, SiteStatus.UNKNOWN, new, "burst", utcnow()))
            published[code] = new.value

    async with serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service:
        bus = bus_of(service)
        for round_ in range(15):
            burst(bus, round_)
            await asyncio.sleep(0.1)
        before = set(published)
        async with wall(service) as opened:
            for round_ in range(15, 30):
                burst(bus, round_)
                await asyncio.sleep(0.1)
            only_before = before - {codes[k * 7 % len(codes)] for k in range(150, 300)}
            assert only_before  # sites whose last change came before the dashboard connected

            async def right() -> bool:
                shown = opened.statuses()
                return all(shown[code] == status for code, status in published.items())

            await eventually(right, "the dashboard shows every site's last status")


@SQLITE_ONLY
async def test_an_incident_change_is_read_once_for_every_dashboard(
    settings: Settings, seeded: SessionMaker
) -> None:
    """Five dashboards open; an incident is acknowledged. Each is told, and the incident was
    read from the database once, not once per dashboard."""
    ids = await site_ids(seeded)
    async with seeded() as session:
        incident = Incident(site_id=ids["01267"], severity=SiteStatus.DOWN, opened_at=utcnow())
        session.add(incident)
        await session.commit()
    async with serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service:
        engine: AsyncEngine = service.server.lifespan.state["sessionmaker"].kw["bind"]
        reads: list[str] = []

        def counted(_conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
            if "FROM incident JOIN site" in statement:
                reads.append(statement)

        walls = [Wall(service.base) for _ in range(5)]
        try:

            async def all_connected() -> bool:
                return all(w.snapshots() > 0 for w in walls)

            await eventually(all_connected, "every wall has its snapshot")
            async with seeded() as session:
                await session.execute(
                    update(Incident)
                    .where(Incident.id == incident.id)
                    .values(acknowledged_at=utcnow(), acknowledged_by="an operator", ack_note="ok")
                )
                await session.commit()
            event.listen(engine.sync_engine, "before_cursor_execute", counted)
            try:
                bus_of(service).publish(IncidentChanged(incident.id, "01267", "acknowledged"))

                async def all_told() -> bool:
                    return all(
                        w.incidents.get(incident.id, {}).get("acknowledged_by") == "an operator"
                        for w in walls
                    )

                await eventually(all_told, "every wall shows the acknowledgement")
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", counted)
        finally:
            for opened in walls:
                await opened.close()
    assert len(reads) == 1, reads


@SQLITE_ONLY
async def test_a_site_edited_through_the_api_reaches_open_dashboards(
    settings: Settings, seeded: SessionMaker, auth: dict[Role, dict[str, str]]
) -> None:
    """A renamed site (the tiles and the map need the new name: a fresh snapshot), a new
    contact number (an update) and a new site (a fresh snapshot) all reach a dashboard that is
    open, without waiting for anything else to change."""
    operator = auth[Role.OPERATOR]
    async with (
        serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service,
        httpx.AsyncClient(base_url=service.base, headers=operator, timeout=10) as api,
        wall(service) as opened,
    ):
        renamed = await api.patch("/api/v1/sites/01267", json={"name": "Xã Mới"})
        assert renamed.status_code == 200

        async def shows(code: str, field: str, value: Any) -> bool:
            return bool(opened.sites.get(code, {}).get(field) == value)

        await eventually(lambda: shows("01267", "name", "Xã Mới"), "the new name")
        phoned = await api.patch("/api/v1/sites/01270", json={"contact_phone": "0912 345 678"})
        assert phoned.status_code == 200
        await eventually(lambda: shows("01270", "contact_phone", "0912 345 678"), "the number")
        created = await api.post(
            "/api/v1/sites",
            json={
                "code": "99999",
                "name": "Điểm cầu mới",
                "level": "commune",
                "parent_code": "040",
            },
        )
        assert created.status_code == 201
        await eventually(lambda: shows("99999", "name", "Điểm cầu mới"), "the new site")


async def test_a_dashboard_opened_while_the_database_is_out_shows_the_last_state(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    """The database is blocked; a wall screen opens (or reloads). It shows every site as last
    known, with the warning that statuses may be old, and is told when the database is back.
    (It used to wait, blank, for the database.)"""
    async with postgres.fresh() as url, open_database(url) as sessionmaker:
        await seed_if_empty(sessionmaker, "cao-bang")
        settings = Settings(
            database_url=url,
            data_dir=tmp_path,
            auto_migrate=False,
            engine=False,
            log_json=False,
            anonymous_read=True,
        )
        async with (
            serve(create_app(settings)) as service,
            httpx.AsyncClient(base_url=service.base, timeout=30) as client,
        ):
            await block(url)
            try:
                assert (await client.get("/readyz")).status_code == 503
                async with wall(service) as opened:
                    assert len(opened.sites) == 172
                    await eventually(
                        lambda: _health(opened, ["unreachable"]), "the wall is told it is out"
                    )
                    assert [name for name, _ in opened.events][:2] == ["snapshot", "health"]
                    await unblock(url)
                    await eventually(
                        lambda: _health(opened, ["unreachable", "ok"]), "and that it is back"
                    )
            finally:
                await unblock(url)


async def _health(opened: Wall, told: list[str]) -> bool:
    return [data["database"] for name, data in opened.events if name == "health"] == told


async def test_a_site_edited_by_another_process_reaches_open_dashboards(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    """In scale-out an edit may come from anywhere (another API process, `bridgewatch sites
    import`, plain SQL): the database tells every API process, whose dashboards show it within
    seconds, not at the view's next periodic check."""
    async with postgres.fresh() as url, open_database(url) as sessionmaker:
        await seed_if_empty(sessionmaker, "cao-bang")
        settings = Settings(
            database_url=url,
            data_dir=tmp_path,
            auto_migrate=False,
            engine=False,
            log_json=False,
            anonymous_read=True,
        )
        async with serve(create_app(settings)) as service, wall(service) as opened:
            await asyncio.sleep(1)  # the process listens for edits by now
            async with sessionmaker() as session:
                await session.execute(
                    update(Site).where(Site.code == "01267").values(name="Xã Đổi Tên")
                )
                await session.commit()

            async def renamed() -> bool:
                return bool(opened.sites["01267"]["name"] == "Xã Đổi Tên")

            await eventually(renamed, "the new name on the open dashboard", deadline=20)
