"""`bridgewatch demo`: the service on SQLite with the Cao Bằng topology, a simulated fleet of
171 real aiortc agents (in a second process) answering over loopback, and a conference about to
begin, so its pre-flight board has something to show."""

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import migrations
from models.base import utcnow
from models.conference import Conference, ConferenceSite
from models.db import create_engine, create_sessionmaker
from models.settings import Settings
from models.site import ProbeMode, Site, SiteLevel
from models.topology.builtin import seed_if_empty
from monitor.conference.phases import running_or_soon
from monitor.probe.credentials import issue_agent_secret
from monitor.simulation.demo_fleet import run_fleet

LOOPBACK = "127.0.0.1"
FLEET_START_SECONDS = 60.0


def demo_database_path(settings: Settings) -> Path:
    """Always its own SQLite file: the demo rewrites agent URLs and secrets of every site.
    The CLI reaches it with `bridgewatch --demo ...`."""
    return settings.data_dir.resolve() / "demo.db"


def demo_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{demo_database_path(settings)}",
            "anonymous_read": True,
            "seed_topology": "cao-bang",
            "ice_host_addresses": [LOOPBACK],
            # A few seconds of test video per site every five minutes: the media figures show
            # up in the samples without loading a small machine.
            "media_check_interval_seconds": 300.0,
        }
    )


async def prepare(settings: Settings, fleet_port: int) -> dict[str, str]:
    """Point every probed site at the simulated fleet and give it a fresh secret."""
    engine = create_engine(settings.resolved_database_url)
    try:
        await migrations.upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        await seed_if_empty(sessionmaker, settings.seed_topology)
        secrets = {}
        async with sessionmaker() as session:
            sites = await session.scalars(select(Site).where(Site.probe_mode != ProbeMode.NONE))
            for site in sites:
                site.probe_mode = ProbeMode.PULL
                site.probe_target = f"http://{LOOPBACK}:{fleet_port}/{site.code}"
                secrets[site.code] = await issue_agent_secret(session, site)
            await _plan_a_conference(session, utcnow())
            await session.commit()
        return secrets
    finally:
        await engine.dispose()


async def _plan_a_conference(session: AsyncSession, now: datetime) -> None:
    """Every probed site in a conference 45 minutes away (ready after a minute up), unless one
    is running or about to: a demo started again reuses it."""
    if await session.scalar(select(Conference.id).where(running_or_soon(now)).limit(1)):
        return
    sites = await session.scalars(select(Site).where(Site.probe_mode != ProbeMode.NONE))
    session.add(
        Conference(
            title="Hội nghị trực tuyến tổng kết năm (thử nghiệm)",
            starts_at=now + timedelta(minutes=45),
            ends_at=now + timedelta(hours=3),
            ready_minutes=1,
            participants=[
                ConferenceSite(
                    site_id=site.id,
                    expected_delegates=40 if site.level is SiteLevel.DISTRICT else 30,
                )
                for site in sites
            ],
        )
    )


def start_fleet(secrets: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """The fleet in its own process; its secrets go through a pipe, never to disk. The pipe
    stays open for as long as this process lives (see `fleet_while_demo_lives`).

    Returns once the fleet answers, so the first probes find their agents (otherwise every
    site would open an incident in the demo's first second).
    """
    command = [sys.executable, "-m", "app", "demo-fleet", "--port", str(port)]
    fleet = subprocess.Popen(command, stdin=subprocess.PIPE)  # noqa: S603 (our own command)
    assert fleet.stdin is not None
    fleet.stdin.write(json.dumps(secrets).encode() + b"\n")
    fleet.stdin.flush()
    deadline = time.monotonic() + FLEET_START_SECONDS
    while time.monotonic() < deadline and fleet.poll() is None:
        try:
            httpx.get(f"http://{LOOPBACK}:{port}/healthz", timeout=1).raise_for_status()
            return fleet
        except httpx.HTTPError:
            time.sleep(0.2)
    fleet.kill()
    raise RuntimeError("the simulated fleet did not start")


async def fleet_while_demo_lives(secrets: dict[str, str], port: int) -> None:
    """Run the simulated fleet until `bridgewatch demo` is gone.

    The demo holds our standard input open, so its end means the demo ended, however it did.
    On SIGTERM uvicorn re-raises the signal once it has shut down, and the demo died before its
    own clean-up could stop the fleet, which then ran on, orphaned, with its 171 agents.
    """
    loop = asyncio.get_running_loop()
    demo_gone = asyncio.Event()

    def wait_for_end_of_input() -> None:
        sys.stdin.buffer.read()
        with contextlib.suppress(RuntimeError):  # this process is ending anyway
            loop.call_soon_threadsafe(demo_gone.set)

    threading.Thread(target=wait_for_end_of_input, name="demo watch", daemon=True).start()
    await run_fleet(secrets, LOOPBACK, port, stop=demo_gone)
