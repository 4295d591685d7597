"""While a conference is live, its own limits judge its sites where they are stricter than the
sites' own; they end with it. The connection to the site is kept throughout."""

from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.settings import Settings
from models.thresholds import Thresholds, stricter
from monitor.agent.http import agent_app
from tests.databases import SQLITE_ONLY
from tests.probing import eventually, fast, give_agent, serving
from tests.service import free_port
from tests.test_metrics import agents_for

Headers = dict[Role, dict[str, str]]


def test_the_stricter_of_each_limit() -> None:
    own = Thresholds(rtt_seconds=0.3, loss_ratio=0.03, mos=3.5)
    live = Thresholds(rtt_seconds=0.15, loss_ratio=0.05, mos=4.0, jitter_seconds=0.02)
    assert stricter(own, live) == Thresholds(
        rtt_seconds=0.15, loss_ratio=0.03, mos=4.0, jitter_seconds=0.02
    )


# The engine's part is the same on both databases; the query is run on PostgreSQL by the
# conference metrics' test (the same running-conference filter).
@SQLITE_ONLY
async def test_a_live_conference_judges_its_sites_by_its_limits_until_it_ends(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    secret = await give_agent(seeded, "01267", f"http://127.0.0.1:{port}/01267")
    viewer, operator = auth[Role.VIEWER], auth[Role.OPERATOR]
    async with (
        serving(agent_app(agents_for({"01267": secret})), port),
        serving(create_app(fast(settings))) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):

        async def site() -> dict[str, object]:
            return dict((await client.get("/api/v1/sites/01267", headers=viewer)).json())

        async def status_is(status: str) -> bool:
            return (await site())["status"] == status

        await eventually(lambda: status_is("up"), "the site is up")
        now = datetime.now(UTC)
        plan = {
            "title": "Đại hội",
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            # No loopback round trip is this fast: every window is over the limit.
            "thresholds": {"rtt_seconds": 0.000001},
            "sites": [{"site_code": "01267"}],
        }
        created = await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])
        assert created.json()["thresholds"]["rtt_seconds"] == 0.000001
        await eventually(lambda: status_is("degraded"), "the live limits degrade the site")
        assert str((await site())["status_reason"]).startswith("RTT ")

        ended = await client.post(f"{created.headers['location']}/end", headers=operator)
        assert ended.json()["phase"] == "ended"
        await eventually(lambda: status_is("up"), "the site's own limits again")

        text = (await client.get("/metrics")).text
        setups = {
            s.labels["result"]: s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "bridgewatch_probe_setups_total"
        }
        assert setups == {"ok": 1.0}, setups  # one connection all along


@SQLITE_ONLY
async def test_media_checks_run_while_the_conference_is_live_if_so_configured(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    secret = await give_agent(seeded, "01267", f"http://127.0.0.1:{port}/01267")
    viewer = auth[Role.VIEWER]
    checks = fast(settings, live_media_check_interval_seconds=2.0, media_check_seconds=2.0)
    async with (
        serving(agent_app(agents_for({"01267": secret})), port),
        serving(create_app(checks)) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):

        async def media() -> list[dict[str, object]]:
            body = (await client.get("/api/v1/sites/01267/samples", headers=viewer)).json()
            return [s["media"] for s in body["items"] if s["media"]]

        async def windows() -> int:
            body = (await client.get("/api/v1/sites/01267/samples", headers=viewer)).json()
            return len(body["items"])

        async def some_windows() -> bool:
            return await windows() >= 8

        await eventually(some_windows, "eight windows of heartbeats")
        assert await media() == []  # no conference is live: no media checks
        now = datetime.now(UTC)
        plan = {
            "title": "Đại hội",
            "starts_at": (now - timedelta(minutes=5)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "sites": [{"site_code": "01267"}],
        }
        await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])

        async def measured() -> bool:
            return any("error" not in m for m in await media())

        await eventually(measured, "a media check while live")
