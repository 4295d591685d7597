"""Delegates present: the site's agent reports them, an operator may correct them, the latest
value wins and says who gave it; a conference counts them per site, district and overall
against the delegates expected, and names the sites that reported nothing."""

from datetime import UTC, datetime, timedelta

import httpx

from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.settings import Settings
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.probing import eventually, fast, give_agent, serving
from tests.service import free_port

Headers = dict[Role, dict[str, str]]


async def _plan(client: httpx.AsyncClient, admin: dict[str, str], expected: dict[str, int]) -> str:
    now = datetime.now(UTC)
    plan = {
        "title": "Hội nghị trực tuyến",
        "starts_at": (now - timedelta(minutes=10)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "sites": [{"site_code": c, "expected_delegates": n} for c, n in expected.items()],
    }
    created = await client.post("/api/v1/conferences", json=plan, headers=admin)
    assert created.status_code == 201, created.text
    return str(created.headers["location"])


async def test_the_agent_reports_an_operator_corrects_and_the_latest_wins(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    secret = await give_agent(seeded, "01267", f"http://127.0.0.1:{port}/01267")
    typed = {"present": 25}
    agent = SiteAgent(
        "01267", secret, rtc_configuration([]), lambda: Report(attendance=typed["present"])
    )
    viewer, operator = auth[Role.VIEWER], auth[Role.OPERATOR]
    async with (
        serving(agent_app({"01267": agent}), port),
        serving(create_app(fast(settings))) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        url = await _plan(client, auth[Role.ADMIN], {"01267": 30, "01273": 20})

        async def latest() -> dict[str, object]:
            response = await client.get("/api/v1/sites/01267/attendance", headers=viewer)
            return dict(response.json()) if response.status_code == 200 else {}

        async def latest_is(present: int, source: str) -> bool:
            body = await latest()
            return (body.get("present"), body.get("source")) == (present, source)

        await eventually(lambda: latest_is(25, "agent"), "the agent's 25 is the latest")
        assert str((await latest())["by"]).startswith("bridgewatch-agent/")

        entered = await client.put(
            "/api/v1/sites/01267/attendance", json={"present": 28}, headers=operator
        )
        assert entered.status_code == 200, entered.text
        assert entered.json()["source"] == "operator" and entered.json()["by"] == "test-operator"

        # The agent repeats its 25 with every window: that is not a new number.
        async def windows() -> int:
            samples = await client.get(
                "/api/v1/sites/01267/samples", params={"limit": 1000}, headers=viewer
            )
            return len(samples.json()["items"])

        seen = await windows()

        async def three_more() -> bool:
            return await windows() >= seen + 3

        await eventually(three_more, "three more windows are recorded")
        assert await latest_is(28, "operator")

        # The technician types a new number: the page's report comes with the next session.
        typed["present"] = 31
        for session in list(agent.sessions.values()):
            await session.pc.close()
        await eventually(lambda: latest_is(31, "agent"), "the agent's new 31 is the latest")

        roll = (await client.get(f"{url}/attendance", headers=viewer)).json()
        assert (roll["present"], roll["expected_delegates"]) == (31, 50)
        assert (roll["sites"], roll["sites_reported"]) == (2, 1)
        assert [s["code"] for s in roll["sites_detail"]] == ["01273", "01267"]  # silent first
        assert roll["sites_detail"][0]["present"] is None
        report = (await client.get(f"{url}/report", headers=viewer)).json()
        assert report["totals"]["attendance"] == 31


async def test_a_conference_counts_per_district_and_refuses_bad_numbers(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    operator, viewer = auth[Role.OPERATOR], auth[Role.VIEWER]
    url = await _plan(client, auth[Role.ADMIN], {"01267": 30, "01273": 20, "01654": 15})
    for code, present in (("01267", 26), ("01654", 12), ("01654", 14)):
        response = await client.put(
            f"/api/v1/sites/{code}/attendance", json={"present": present}, headers=operator
        )
        assert response.status_code == 200, response.text

    roll = (await client.get(f"{url}/attendance", headers=viewer)).json()
    assert (roll["present"], roll["expected_delegates"], roll["sites_reported"]) == (40, 65, 2)
    districts = {d["code"]: d for d in roll["districts"]}
    assert (districts["040"]["present"], districts["040"]["expected_delegates"]) == (26, 50)
    assert (districts["040"]["sites"], districts["040"]["sites_reported"]) == (2, 1)
    assert (districts["051"]["present"], districts["051"]["name"]) == (14, "Huyện Hòa An")

    bad = [
        ({"present": -3}, "greater than or equal to 0"),
        ({"present": 100_001}, "less than or equal to 100000"),
        ({"present": "abc"}, "valid integer"),
        ({"present": 12.5}, "valid integer"),
        ({}, "present"),
        ({"present": 5, "by": "me"}, "by"),
    ]
    for body, detail in bad:
        response = await client.put("/api/v1/sites/01267/attendance", json=body, headers=operator)
        assert response.status_code == 422, (body, response.text)
        assert detail in response.text
    unknown = await client.put(
        "/api/v1/sites/NOPE/attendance", json={"present": 5}, headers=operator
    )
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no site with code 'NOPE'"
    put = "/api/v1/sites/01267/attendance"
    assert (await client.put(put, json={"present": 5}, headers=viewer)).status_code == 403
    assert (await client.put(put, json={"present": 5})).status_code == 401
    latest = (await client.get(put, headers=viewer)).json()
    assert latest["present"] == 26  # nothing refused was stored
    silent = await client.get("/api/v1/sites/01273/attendance", headers=viewer)
    assert silent.status_code == 404 and "no attendance" in silent.json()["detail"]
