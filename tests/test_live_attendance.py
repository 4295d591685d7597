"""Delegates present on the live stream, as the dashboard counts them: each site's latest number
whoever gave it, its agent or an operator (as the REST roll-up counts them). An operator's
correction stays while the agent repeats its old number, a new number from the agent wins again,
and yesterday's number does not count. A real agent over a real connection; the stream read as
a dashboard reads it."""

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select

from app.main import create_app
from models.attendance import Attendance, AttendanceSource
from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.settings import Settings
from models.site import Site
from monitor.agent.http import agent_app
from monitor.agent.site_agent import REPORT_INTERVAL_SECONDS, SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.browser import serve
from tests.databases import SQLITE_ONLY
from tests.probing import DEADLINE_SECONDS, eventually, fast, give_agent, serving
from tests.service import free_port
from tests.test_live_stream import Wall, wall

pytestmark = SQLITE_ONLY

Headers = dict[Role, dict[str, str]]
AGENT = "01267"  # its agent reports the room's count
TYPED = "01654"  # never connected: an operator types its count
YESTERDAY = "01657"  # its last number is from the day before


def counted(screen: Wall, code: str) -> tuple[int, str] | None:
    attendance = screen.sites[code].get("attendance")
    return None if attendance is None else (attendance["present"], attendance["source"])


async def test_the_live_stream_counts_the_latest_number_whoever_gave_it(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    room = {"present": 12}
    port = free_port()
    agent = SiteAgent(
        AGENT,
        await give_agent(seeded, AGENT, f"http://127.0.0.1:{port}/{AGENT}"),
        rtc_configuration([]),
        lambda: Report(attendance=room["present"]),
    )
    async with seeded() as session:
        old = await session.scalar(select(Site.id).where(Site.code == YESTERDAY))
        assert old is not None
        session.add(
            Attendance(
                site_id=old,
                at=utcnow() - timedelta(days=1),
                present=40,
                source=AttendanceSource.OPERATOR,
                by="hôm qua",
            )
        )
        await session.commit()
    operator = auth[Role.OPERATOR]
    async with (
        serving(agent_app({AGENT: agent}), port),
        serve(create_app(fast(settings, anonymous_read=True))) as service,
        wall(service) as screen,
    ):
        assert counted(screen, YESTERDAY) is None  # yesterday's 40 delegates are not here today

        async def shows(code: str, wanted: tuple[int, str]) -> bool:
            return counted(screen, code) == wanted

        await eventually(lambda: shows(AGENT, (12, "agent")), "the agent's number")
        async with httpx.AsyncClient(base_url=service.base, timeout=10) as api:
            corrected = await api.put(
                f"/api/v1/sites/{AGENT}/attendance", json={"present": 15}, headers=operator
            )
            assert corrected.status_code == 200
            typed = await api.put(
                f"/api/v1/sites/{TYPED}/attendance", json={"present": 7}, headers=operator
            )
            assert typed.status_code == 200
        await eventually(lambda: shows(AGENT, (15, "operator")), "the operator's correction")
        await eventually(lambda: shows(TYPED, (7, "operator")), "the typed number")
        await asyncio.sleep(3)  # three more windows, each carrying the agent's old 12
        assert counted(screen, AGENT) == (15, "operator")

        room["present"] = 20  # the technician types a new number: the agent's next report
        await eventually(
            lambda: shows(AGENT, (20, "agent")),
            "the agent's new number",
            REPORT_INTERVAL_SECONDS + DEADLINE_SECONDS,
        )
        # A dashboard opened now reads the same from the database.
        async with wall(service) as later:
            assert (counted(later, AGENT), counted(later, TYPED)) == (
                (20, "agent"),
                (7, "operator"),
            )
            assert counted(later, YESTERDAY) is None
            total = sum(
                site["attendance"]["present"]
                for site in later.sites.values()
                if site.get("attendance")
            )
            assert total == 27  # the header's delegates counter
    await agent.close()
