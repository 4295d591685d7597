"""Pre-flight readiness: a participating site is ready once it has been up for the last five
minutes and passed a full check since pre-flight opened; any other site is not ready, with the
reason in words, since when, and whom to call. The board lists the not-ready first and counts
per district and overall. The engine checks the sites of a conference in pre-flight without
anyone asking."""

from datetime import timedelta

import httpx
from sqlalchemy import update

from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.site import Site, SiteStatus
from monitor.conference.readiness import FullCheck, SiteState, judge
from monitor.probe.full_check import RETRY_FAILED, CheckPlan, LastCheck, due, media_faults

Headers = dict[Role, dict[str, str]]


def test_up_for_five_minutes_with_a_full_check_passed_is_ready_and_anything_else_says_why() -> None:
    now = utcnow()
    opened = now - timedelta(minutes=30)  # pre-flight
    passed = FullCheck(now - timedelta(minutes=1), True, "")

    def verdict(
        status: SiteStatus,
        minutes: float,
        reason: str = "",
        seen: bool = True,
        check: FullCheck | None = passed,
    ) -> str:
        since = now - timedelta(minutes=minutes)
        state = SiteState(status, since, reason, since if seen else None, True, check)
        got = judge(state, now, opened)
        return f"{got.ready} {got.reason}"

    assert verdict(SiteStatus.UP, 6) == "True up"
    assert verdict(SiteStatus.UP, 2) == "False up for 2 of 5 min"
    assert verdict(SiteStatus.UNKNOWN, 30, seen=False) == "False unknown: never connected"
    assert verdict(SiteStatus.DOWN, 3, "3 heartbeats missed") == "False down: 3 heartbeats missed"
    assert verdict(SiteStatus.DEGRADED, 9, "no picture (black)") == (
        "False degraded: no picture (black)"
    )
    early = FullCheck(now - timedelta(minutes=9), True, "")
    ready = judge(
        SiteState(SiteStatus.UP, now - timedelta(minutes=7), "", now, True, early), now, opened
    )
    assert ready.since == now - timedelta(minutes=2)  # ready since five minutes after it came up
    paused = SiteState(SiteStatus.PAUSED, now, "disabled (maintenance)", None, False)
    assert judge(paused, now, opened).reason == "disabled (maintenance)"
    planned = SiteState(SiteStatus.MAINTENANCE, now, "maintenance: thay camera", now, True)
    assert judge(planned, now, opened).reason == "maintenance: thay camera"

    # The full check: none yet, one from before this pre-flight, one failed.
    assert verdict(SiteStatus.UP, 6, check=None) == "False no full check yet"
    yesterday = FullCheck(now - timedelta(days=1), True, "")
    assert verdict(SiteStatus.UP, 60 * 25, check=yesterday) == "False no full check yet"
    failed = FullCheck(now - timedelta(minutes=3), False, "media check failed (setup_timeout)")
    assert verdict(SiteStatus.UP, 20, check=failed) == (
        "False full check failed: media check failed (setup_timeout)"
    )
    assert verdict(SiteStatus.UP, 2, check=failed).startswith("False full check failed")
    assert verdict(SiteStatus.DOWN, 2, "3 heartbeats missed") == "False down: 3 heartbeats missed"
    waiting = judge(
        SiteState(SiteStatus.UP, now - timedelta(minutes=60), "", now, True), now, opened
    )
    assert waiting.since == opened  # wanting a check since pre-flight opened
    late = FullCheck(now - timedelta(seconds=10), True, "")
    got = judge(
        SiteState(SiteStatus.UP, now - timedelta(minutes=60), "", now, True, late), now, opened
    )
    assert (got.ready, got.since) == (True, late.at)  # ready since the check passed


def test_a_full_check_is_due_when_asked_and_in_pre_flight() -> None:
    now = utcnow()
    opened = now - timedelta(minutes=10)
    asked = now - timedelta(seconds=5)
    idle = CheckPlan(None, None)
    preflight = CheckPlan(opened, None)
    assert not due(idle, None, None, True, now)
    assert due(preflight, None, None, True, now)
    assert not due(preflight, None, None, False, now)  # nobody there: wait until it connects
    assert not due(preflight, LastCheck(now - timedelta(minutes=2), True), None, True, now)
    assert due(preflight, LastCheck(opened - timedelta(minutes=1), True), None, True, now)
    failed = LastCheck(now - RETRY_FAILED - timedelta(seconds=1), False)
    assert due(preflight, failed, None, True, now)  # a site fixed meanwhile becomes ready
    assert not due(preflight, LastCheck(now - timedelta(seconds=5), False), None, True, now)
    # An operator's request: once, whether the site is connected or not.
    assert due(CheckPlan(None, asked), LastCheck(now, True), None, False, now)
    assert due(CheckPlan(None, asked), None, asked - timedelta(seconds=1), False, now)
    assert not due(CheckPlan(None, asked), None, asked, True, now)
    assert media_faults({"error": "media_setup_timeout"}) == [
        "media check failed (media_setup_timeout)"
    ]
    assert media_faults({"frames_per_second": 0.0, "freezes": 9}) == ["media check: no video"]
    assert media_faults({"frames_per_second": 9.8, "freezes": 0}) == []
    assert media_faults(None) == []  # no media check possible: nothing failed


async def test_the_readiness_board_of_a_conference(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    now = utcnow()
    passed = now - timedelta(minutes=1)  # since pre-flight opened (50 min before the start)
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
                .values(full_check_at=passed, full_check_passed=True)
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
    assert sites[3]["full_check"] == {
        "at": passed.isoformat().replace("+00:00", "Z"),
        "passed": True,
        "failed": "",
    }

    assert (
        await client.get("/api/v1/conferences/999/readiness", headers=auth[Role.VIEWER])
    ).status_code == 404
    assert (await client.get(url)).status_code == 401
