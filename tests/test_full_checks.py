"""Full checks with real agents: the engine checks the sites of a conference in pre-flight
without anyone asking (data channel, a short media check, camera and microphone as the agent
reports them), and a site that is simply up becomes ready on its own; a site that cannot be
reached gets none until it connects."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.settings import Settings
from models.site import Site, SiteStatus
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.probing import eventually, fast, give_agent, serving
from tests.service import free_port

Headers = dict[Role, dict[str, str]]
UP = "01267"  # its agent answers, with camera and microphone fine
AWAY = "01654"  # nobody answers at its address
FAST_CHECKS = {"media_check_seconds": 1.0}


async def up_for_a_while(sessionmaker: SessionMaker, code: str) -> None:
    """As the engine left it before a restart: up for ten minutes (the engine goes on from
    there), so the test need not wait out the minutes of `ready_minutes`."""
    async with sessionmaker() as session:
        await session.execute(
            update(Site)
            .where(Site.code == code)
            .values(status=SiteStatus.UP, status_since=datetime.now(UTC) - timedelta(minutes=10))
        )
        await session.commit()


async def test_sites_of_a_conference_in_pre_flight_are_checked_and_become_ready(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    agent = SiteAgent(
        UP,
        await give_agent(seeded, UP, f"http://127.0.0.1:{port}/{UP}"),
        rtc_configuration([]),
        lambda: Report(attendance=12, camera="ok", microphone="ok"),
    )
    await give_agent(seeded, AWAY, f"http://127.0.0.1:{free_port()}/{AWAY}")
    await up_for_a_while(seeded, UP)
    async with (
        serving(agent_app({UP: agent}), port),
        serving(create_app(fast(settings, **FAST_CHECKS))) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        opened = datetime.now(UTC)
        plan = {
            "title": "Hội nghị kiểm tra trước",
            "starts_at": (opened + timedelta(minutes=30)).isoformat(),
            "ends_at": (opened + timedelta(hours=2)).isoformat(),
            "preflight_minutes": 30,
            "ready_minutes": 1,
            "sites": [{"site_code": c, "expected_delegates": 10} for c in (UP, AWAY)],
        }
        created = await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])
        url = f"{created.headers['location']}/readiness"
        sites: dict[str, Any] = {}

        async def ready() -> bool:
            board = (await client.get(url, headers=auth[Role.VIEWER])).json()
            sites.update({s["code"]: s for s in board["sites"]})
            return bool(sites[UP]["ready"])

        try:
            await eventually(ready, "the site that is up passes its full check and is ready")
        except AssertionError as late:
            raise AssertionError(f"{late}; the board said {sites}") from None
        check = sites[UP]["full_check"]
        assert check["passed"] and check["failed"] == ""
        assert datetime.fromisoformat(check["at"]) >= opened - timedelta(minutes=1)
        assert sites[UP]["reason"] == "up"

        async def media_stored() -> bool:
            samples = await client.get(f"/api/v1/sites/{UP}/samples", headers=auth[Role.VIEWER])
            media = [s["media"] for s in samples.json()["items"] if s.get("media")]
            return bool(media) and media[0]["frames_per_second"] > 0

        # The media check's figures go out with the next window, as any media check's do.
        await eventually(media_stored, "the full check's media figures are stored")
        # Nobody answers the other: no check is spent on it, and it says why it is not ready.
        assert not sites[AWAY]["ready"]
        assert sites[AWAY]["full_check"] is None
        assert sites[AWAY]["reason"].startswith("down")
    await agent.close()
