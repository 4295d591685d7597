"""A database outage as operators meet it, on the real PostgreSQL of this machine: one database
blocked (no new connection, every open one cut) or one worker's role refused, never the shared
server stopped.

What must hold: the API answers 503 with a problem body, not 500; the live stream says the
database is out and stays open; a worker that gave its sites up stops probing them; and once
the database is back every site's stored status is what its monitor sees.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import func, select, update

from app.main import create_app
from models.auth import Role, issue_token
from models.base import utcnow
from models.db import SessionMaker, open_database
from models.history import Sample, StatusChange
from models.incident import Incident
from models.settings import Settings
from models.site import Site, SiteStatus
from models.topology.builtin import seed_if_empty
from monitor.agent.http import agent_app
from monitor.probe.events import EventBus, SampleTaken
from tests.browser import WALL, serve
from tests.databases import PostgresDatabases, block, cut_off, let_in, login_role, unblock
from tests.probing import eventually, fast, give_agent, serving
from tests.service import free_port
from tests.test_probe import in_process_agents

SITES = ["01267", "01270", "01273", "01276", "01279", "01282", "01285", "01288"]
LEASE_SECONDS = 3.0


@contextlib.asynccontextmanager
async def seeded_postgres(postgres: PostgresDatabases) -> AsyncIterator[tuple[str, SessionMaker]]:
    async with postgres.fresh() as url, open_database(url) as sessionmaker:
        await seed_if_empty(sessionmaker, "cao-bang")
        yield url, sessionmaker


async def _viewer(sessionmaker: SessionMaker) -> dict[str, str]:
    async with sessionmaker() as session:
        _, secret = await issue_token(session, "wall", Role.VIEWER)
        await session.commit()
    return {"Authorization": f"Bearer {secret}"}


class StreamReader:
    """A dashboard's view of /api/v1/stream: the events it received, in order."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.events: list[tuple[str, Any]] = []
        self._task = asyncio.create_task(self._read(base, headers))

    async def _read(self, base: str, headers: dict[str, str]) -> None:
        async with (
            httpx.AsyncClient(base_url=base, timeout=60) as client,
            client.stream("GET", "/api/v1/stream", headers=headers) as stream,
        ):
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.events.append((event, json.loads(line.removeprefix("data: "))))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def health(self) -> list[str]:
        return [data["database"] for name, data in self.events if name == "health"]

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def test_the_api_answers_503_and_the_stream_says_so_during_an_outage(
    postgres: PostgresDatabases, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with seeded_postgres(postgres) as (url, sessionmaker):
        viewer = await _viewer(sessionmaker)
        settings = Settings(
            database_url=url, data_dir=tmp_path, auto_migrate=False, engine=False, log_json=False
        )
        caplog.set_level(logging.WARNING)
        async with (
            serve(create_app(settings)) as service,
            httpx.AsyncClient(base_url=service.base, timeout=30) as client,
        ):
            wall = StreamReader(service.base, viewer)
            try:
                await eventually(lambda: _has(wall, "snapshot"), "the wall has its snapshot")
                await block(url)
                try:
                    during = await client.get("/api/v1/sites", headers=viewer)
                    ready = await client.get("/readyz")
                    alive = await client.get("/healthz")
                    await eventually(
                        lambda: _told(wall, ["unreachable"]), "the stream says the database is out"
                    )
                finally:
                    await unblock(url)
                await eventually(
                    lambda: _told(wall, ["unreachable", "ok"]), "the stream says it is back"
                )
                await eventually(lambda: _snapshots(wall, 2), "a fresh snapshot after the outage")
                after = await client.get("/api/v1/sites", headers=viewer)
            finally:
                await wall.close()
    assert during.status_code == 503
    assert during.headers["content-type"] == "application/problem+json"
    assert "database" in during.json()["detail"] and during.headers["retry-after"]
    assert ready.status_code == 503 and alive.status_code == 200
    assert after.status_code == 200 and after.json()["total"] == 172
    # The stream stayed open through it all: one connection, its first snapshot, then the rest.
    assert wall.names()[0] == "snapshot"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []  # an outage is warned about, not logged as a crash per request


async def test_the_wall_says_the_database_is_out_and_clears_when_it_is_back(
    postgres: PostgresDatabases, tmp_path: Path, browser: Browser
) -> None:
    """In Vietnamese, on the wall screen: the service is alive, its database is not, so what
    the tiles show may be old. The words go once the database answers again."""
    async with seeded_postgres(postgres) as (url, _):
        settings = Settings(
            database_url=url,
            data_dir=tmp_path,
            auto_migrate=False,
            engine=False,
            log_json=False,
            anonymous_read=True,
        )
        async with serve(create_app(settings)) as service:
            page = await browser.new_page(viewport=WALL)
            banner = page.locator("#stale-banner")
            try:
                await page.goto(service.base)
                await expect(page.locator("button.tile")).to_have_count(172)
                await expect(banner).to_be_hidden()
                await block(url)
                try:
                    await expect(banner).to_be_visible(timeout=20_000)
                    await expect(banner).to_contain_text("mất kết nối cơ sở dữ liệu")
                finally:
                    await unblock(url)
                await expect(banner).to_be_hidden(timeout=20_000)
                await expect(page.locator("button.tile")).to_have_count(172)
            finally:
                await page.close()


async def _has(reader: StreamReader, name: str) -> bool:
    return name in reader.names()


async def _told(reader: StreamReader, states: list[str]) -> bool:
    return reader.health() == states


async def _snapshots(reader: StreamReader, count: int) -> bool:
    return reader.names().count("snapshot") >= count


async def test_a_site_status_written_by_someone_else_converges_to_what_its_monitor_sees(
    settings: Settings, seeded: SessionMaker, auth: dict[Role, dict[str, str]]
) -> None:
    """A stored status that drifted from the monitor's (another process's sweep marked the
    site `unknown` just before this one took it back) is put right, with the monitor's own
    reason; nothing else would ever re-send a status that did not change."""
    port = free_port()
    secrets = {
        code: await give_agent(seeded, code, f"http://127.0.0.1:{port}/{code}") for code in SITES
    }
    agents = in_process_agents(secrets)
    viewer = auth[Role.VIEWER]
    try:
        async with (
            serving(agent_app(agents), port),
            serving(create_app(fast(settings))) as base,
            httpx.AsyncClient(base_url=base, timeout=10) as client,
        ):

            async def statuses() -> set[str]:
                listed = await client.get("/api/v1/sites?limit=1000", headers=viewer)
                return {s["status"] for s in listed.json()["items"] if s["code"] in SITES}

            async def all_up() -> bool:
                return await statuses() == {"up"}

            await eventually(all_up, "every site is up")
            written_elsewhere = utcnow()
            async with seeded() as session:
                await session.execute(
                    update(Site)
                    .where(Site.code.in_(SITES))
                    .values(status=SiteStatus.UNKNOWN, status_reason="written elsewhere")
                )
                await session.commit()
            # Within a reload (10 s) of the monitor's status having settled (15 s): the
            # deadline allows for a machine busy with other tests too.
            await eventually(all_up, "every site is up again in the database", 90)
            summary = (await client.get("/api/v1/summary", headers=viewer)).json()
    finally:
        for agent in agents.values():
            await agent.close()
    async with seeded() as session:
        corrections = (
            await session.execute(
                select(StatusChange.new_status, StatusChange.reason).where(
                    StatusChange.old_status == SiteStatus.UNKNOWN,
                    StatusChange.at >= written_elsewhere,
                )
            )
        ).all()
    assert summary["by_status"]["up"] >= len(SITES)
    # One correction per site, unknown -> up, with the monitor's own reason. (A site's first
    # status is not counted: on a busy machine it may go unknown -> degraded -> up.)
    assert len(corrections) == len(SITES)
    assert set(corrections) == {(SiteStatus.UP, "link good")}


async def test_a_worker_cut_off_from_the_database_stops_probing_what_it_gave_up(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    """Two workers share the sites; one loses the database for several lease times. It gives
    its sites up and stops probing them (it used to go on, and the other worker, unable to
    reach agents still held by the first, recorded false `down`s). The other takes them all;
    once back, the first takes its share again; no site goes down."""
    async with seeded_postgres(postgres) as (url, sessionmaker):
        port = free_port()
        secrets = {
            code: await give_agent(sessionmaker, code, f"http://127.0.0.1:{port}/{code}")
            for code in SITES
        }
        agents = in_process_agents(secrets)
        try:
            async with (
                login_role(url) as (role_a, url_a),
                login_role(url) as (_, url_b),
                serving(agent_app(agents), port),
                serve(create_app(_worker(url_a, tmp_path / "a"), worker=True)) as a,
                serve(create_app(_worker(url_b, tmp_path / "b"), worker=True)) as b,
            ):

                async def held(worker: Any) -> int:
                    return len(worker.server.lifespan.state["probe_engine"].monitors)

                async def shared() -> bool:
                    counts = [await held(a), await held(b)]
                    return sum(counts) == len(SITES) and min(counts) > 0

                async def all_up() -> bool:
                    async with sessionmaker() as session:
                        statuses = set(
                            await session.scalars(select(Site.status).where(Site.code.in_(SITES)))
                        )
                    return statuses == {SiteStatus.UP}

                await eventually(shared, "both workers probe some of the sites")
                await eventually(all_up, "every site is up")
                await cut_off(role_a)
                try:
                    await eventually(
                        lambda: _probes(a, 0), "the cut-off worker stops probing", 4 * LEASE_SECONDS
                    )
                    await eventually(lambda: _probes(b, len(SITES)), "the other takes them all")
                    await asyncio.sleep(2 * LEASE_SECONDS)  # the cut-off worker stays quiet
                    quiet = await held(a)
                finally:
                    await let_in(role_a)
                await eventually(shared, "the worker that came back takes its share again")
                await eventually(all_up, "every site is up")
        finally:
            for agent in agents.values():
                await agent.close()
        async with sessionmaker() as session:
            downs = await session.scalar(
                select(func.count())
                .select_from(Incident)
                .where(Incident.severity == SiteStatus.DOWN)
            )
    assert quiet == 0
    assert downs == 0


async def _probes(worker: Any, count: int) -> bool:
    return len(worker.server.lifespan.state["probe_engine"].monitors) == count


def _worker(url: str, data_dir: Path) -> Settings:
    data_dir.mkdir()
    return fast(
        Settings(database_url=url, data_dir=data_dir, auto_migrate=False, log_json=False),
        lease_seconds=LEASE_SECONDS,
    )


async def test_after_a_whole_outage_no_sample_is_lost_and_every_site_reads_up(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    """The API process and a worker; the database goes away for longer than a lease and its
    grace. The worker keeps what it measured until it can write it, gives its sites up and
    stops probing; the API's sweep cannot mark anything meanwhile. Once the database is back,
    every site reads `up` again in REST (it used to stay `unknown` for good) and every sample
    the worker took was written."""
    async with seeded_postgres(postgres) as (url, sessionmaker):
        viewer = await _viewer(sessionmaker)
        port = free_port()
        secrets = {
            code: await give_agent(sessionmaker, code, f"http://127.0.0.1:{port}/{code}")
            for code in SITES
        }
        agents = in_process_agents(secrets)
        api_settings = Settings(
            database_url=url,
            data_dir=tmp_path,
            auto_migrate=False,
            engine=False,
            log_json=False,
            lease_seconds=LEASE_SECONDS,
        )
        taken: list[SampleTaken] = []
        try:
            async with (
                serving(agent_app(agents), port),
                serve(create_app(api_settings)) as api,
                httpx.AsyncClient(base_url=api.base, timeout=30) as client,
                serve(create_app(_worker(url, tmp_path / "w"), worker=True)) as worker,
            ):
                counting = asyncio.create_task(_count_samples(worker, taken))

                async def all_up() -> bool:
                    listed = await client.get("/api/v1/sites?limit=1000", headers=viewer)
                    if listed.status_code != 200:
                        return False
                    items = listed.json()["items"]
                    return {s["status"] for s in items if s["code"] in SITES} == {"up"}

                await eventually(all_up, "every site is up")
                await block(url)
                await asyncio.sleep(3 * LEASE_SECONDS)  # past the lease and its grace
                await unblock(url)
                converged = await eventually(all_up, "every site reads up again")
                counting.cancel()
            # The worker has stopped: its recorder wrote what it had.
        finally:
            for agent in agents.values():
                await agent.close()
        async with sessionmaker() as session:
            stored = await session.scalar(select(func.count()).select_from(Sample))
            windows = select(Sample.site_id, Sample.at).distinct().subquery()
            distinct = await session.scalar(select(func.count()).select_from(windows))
    # Every window counted was written (the worker went on measuring, and writing, for a moment
    # after the count stopped: more may be stored, never fewer), and none was written twice.
    assert stored is not None and stored >= len(taken), (stored, len(taken))
    assert distinct == stored, (distinct, stored)
    assert converged < 45, converged


async def _count_samples(worker: Any, taken: list[SampleTaken]) -> None:
    """Every window the worker's engine measured, as its bus carried them."""
    bus: EventBus = worker.server.lifespan.state["bus"]
    subscription = bus.subscribe("test", maxsize=100_000)
    try:
        while True:
            event = await subscription.get()
            if isinstance(event, SampleTaken):
                taken.append(event)
    finally:
        bus.unsubscribe(subscription)
