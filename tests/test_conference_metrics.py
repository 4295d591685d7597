"""A running conference in /metrics: its phase, sites ready and not, and delegates present and
expected, in Prometheus' conventions (promtool accepts the exposition); planned and ended
conferences are not there."""

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.site import Site, SiteStatus
from tests.prom import tool

Headers = dict[Role, dict[str, str]]


def series(text: str, name: str) -> dict[tuple[str, ...], float]:
    return {
        tuple(v for k, v in sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def test_a_live_conference_is_counted_and_a_planned_one_is_not(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    async with seeded() as session:
        await session.execute(
            update(Site)
            .where(Site.code == "01267")
            .values(status=SiteStatus.UP, status_since=utcnow() - timedelta(minutes=30))
            .values(full_check_at=utcnow() - timedelta(minutes=20), full_check_passed=True)
        )
        await session.commit()
    now = datetime.now(UTC)
    admin, operator = auth[Role.ADMIN], auth[Role.OPERATOR]
    ids = []
    for title, start in (("Hội nghị đang diễn ra", -10), ("Hội nghị ngày mai", 24 * 60)):
        plan = {
            "title": title,
            "starts_at": (now + timedelta(minutes=start)).isoformat(),
            "ends_at": (now + timedelta(minutes=start + 120)).isoformat(),
            "sites": [
                {"site_code": "01267", "expected_delegates": 30},
                {"site_code": "01273", "expected_delegates": 20},
            ],
        }
        created = await client.post("/api/v1/conferences", json=plan, headers=admin)
        ids.append(str(created.json()["id"]))
    await client.put("/api/v1/sites/01267/attendance", json={"present": 27}, headers=operator)

    text = (await client.get("/metrics")).text
    live = ids[0]
    assert series(text, "bridgewatch_conference_info") == {(live, "Hội nghị đang diễn ra"): 1.0}
    assert series(text, "bridgewatch_conference_phase") == {
        (live, "live"): 1.0,
        (live, "preflight"): 0.0,
    }
    assert series(text, "bridgewatch_conference_sites") == {
        (live, "ready"): 1.0,
        (live, "not_ready"): 1.0,
        (live, "reporting_attendance"): 1.0,
    }
    assert series(text, "bridgewatch_conference_delegates") == {
        (live, "expected"): 50.0,
        (live, "present"): 27.0,
    }
    promtool = await asyncio.create_subprocess_exec(
        tool("promtool"),
        "check",
        "metrics",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    checked, _ = await asyncio.wait_for(promtool.communicate(text.encode()), 60)
    assert promtool.returncode == 0 and checked == b"", checked

    await client.post(f"/api/v1/conferences/{live}/end", headers=operator)
    text = (await client.get("/metrics")).text
    assert series(text, "bridgewatch_conference_delegates") == {}
