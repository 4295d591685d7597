"""Pre-flight readiness: a participating site is ready once it has been up for the last five
minutes; any other site is not ready, with the reason in words, since when, and whom to call.
The board lists the not-ready first and counts per district and overall."""

from datetime import timedelta

import httpx
from sqlalchemy import update

from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.site import Site, SiteStatus
from monitor.conference.readiness import SiteState, judge

Headers = dict[Role, dict[str, str]]


def test_up_for_five_minutes_is_ready_and_anything_else_says_why() -> None:
    now = utcnow()

    def verdict(status: SiteStatus, minutes: float, reason: str = "", seen: bool = True) -> str:
        since = now - timedelta(minutes=minutes)
        state = SiteState(status, since, reason, since if seen else None, True)
        got = judge(state, now)
        return f"{got.ready} {got.reason}"

    assert verdict(SiteStatus.UP, 6) == "True up"
    assert verdict(SiteStatus.UP, 2) == "False up for 2 of 5 min"
    assert verdict(SiteStatus.UNKNOWN, 30, seen=False) == "False unknown: never connected"
    assert verdict(SiteStatus.DOWN, 3, "3 heartbeats missed") == "False down: 3 heartbeats missed"
    assert verdict(SiteStatus.DEGRADED, 9, "no picture (black)") == (
        "False degraded: no picture (black)"
    )
    ready = judge(SiteState(SiteStatus.UP, now - timedelta(minutes=7), "", now, True), now)
    assert ready.since == now - timedelta(minutes=2)  # ready since five minutes after it came up
    paused = SiteState(SiteStatus.PAUSED, now, "disabled (maintenance)", None, False)
    assert judge(paused, now).reason == "disabled (maintenance)"
    planned = SiteState(SiteStatus.MAINTENANCE, now, "maintenance: thay camera", now, True)
    assert judge(planned, now).reason == "maintenance: thay camera"


async def test_the_readiness_board_of_a_conference(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    now = utcnow()
    states = {
        "01267": (SiteStatus.UP, now - timedelta(minutes=20), "link good", now),
        "01273": (SiteStatus.UP, now - timedelta(minutes=2), "link good", now),
        "01654": (SiteStatus.UNKNOWN, now - timedelta(hours=2), "", None),
        "01657": (SiteStatus.DOWN, now - timedelta(minutes=12), "3 heartbeats missed", now),
    }
    async with seeded() as session:
        for code, (status, since, reason, seen) in states.items():
            await session.execute(
                update(Site)
                .where(Site.code == code)
                .values(status=status, status_since=since, status_reason=reason, last_seen_at=seen)
            )
        await session.execute(
            update(Site)
            .where(Site.code == "01657")
            .values(contact_name="Nông Văn Dũng", contact_phone="0912 345 678")
        )
        await session.commit()
    plan = {
        "title": "Tổng duyệt hội nghị",
        "starts_at": (now + timedelta(minutes=50)).isoformat(),
        "ends_at": (now + timedelta(hours=3)).isoformat(),
        "sites": [{"site_code": code, "expected_delegates": 20} for code in states],
    }
    created = await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])
    url = f"{created.headers['location']}/readiness"

    response = await client.get(url, headers=auth[Role.VIEWER])
    assert response.status_code == 200, response.text
    board = response.json()
    assert (board["ready"], board["total"]) == (1, 4)
    sites = board["sites"]
    # Not ready first, the longest so first; the ready one last.
    assert [s["code"] for s in sites] == ["01654", "01657", "01273", "01267"]
    assert [s["ready"] for s in sites] == [False, False, False, True]
    assert sites[0]["reason"] == "unknown: never connected"
    assert sites[1]["reason"] == "down: 3 heartbeats missed"
    assert (sites[1]["contact_name"], sites[1]["contact_phone"]) == (
        "Nông Văn Dũng",
        "0912 345 678",
    )
    assert sites[2]["reason"] == "up for 2 of 5 min"
    assert sites[1]["district_name"] == "Huyện Hòa An"
    districts = {d["code"]: (d["ready"], d["total"]) for d in board["districts"]}
    assert districts == {"040": (1, 2), "051": (0, 2)}
    assert board["districts"][0]["code"] == "051"  # the district with most not ready first

    assert (
        await client.get("/api/v1/conferences/999/readiness", headers=auth[Role.VIEWER])
    ).status_code == 404
    assert (await client.get(url)).status_code == 401
