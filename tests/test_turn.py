"""TURN for agents: the monitor hands each authenticated agent its ICE servers in `Link` headers
(TURN with credentials made from the secret it shares with the TURN server), and an agent made
to go through Debian's coturn, started here on loopback, turns its site `up` with samples that
say the path is relayed. The Python agent takes the servers of one answer for its next dial.
"""

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.logs import JsonFormatter
from app.main import create_app
from models.db import SessionMaker
from models.history import Sample
from models.settings import Settings, TurnServer
from models.site import ProbeMode
from monitor.agent.site_agent import SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.links import parse_ice_links
from monitor.wire.protocol import Report
from tests.databases import SQLITE_ONLY
from tests.probing import data_channel_offer, eventually, fast, give_agent, serving
from tests.turn import coturn

pytestmark = SQLITE_ONLY

SITE = "01273"
OTHER = "01270"
SECRET = "turn-shared-secret-never-shown"
TURN = TurnServer.model_validate(
    {"urls": ["turn:127.0.0.1:3478?transport=udp"], "secret": SECRET, "ttl_seconds": 3600}
)
SDP = {"Content-Type": "application/sdp"}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def turn_links(response: httpx.Response) -> list[tuple[str, str, str]]:
    return [
        (s.urls[0], s.username or "", s.credential.get_secret_value() if s.credential else "")
        for s in parse_ice_links(response.headers.get_list("link"))
    ]


def assert_fresh_turn_for(site: str, response: httpx.Response) -> None:
    [(url, username, credential)] = turn_links(response)
    assert url == "turn:127.0.0.1:3478?transport=udp"
    expiry, _, user = username.partition(":")
    assert user == site
    assert abs(int(expiry) - (time.time() + 3600)) < 60
    mac = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    assert credential == base64.b64encode(mac).decode()


async def test_only_the_sites_own_agent_gets_turn_credentials_and_the_secret_shows_nowhere(
    settings: Settings, seeded: SessionMaker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mine = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    other = await give_agent(seeded, OTHER, None, ProbeMode.PUSH)
    app = create_app(fast(settings, turn=TURN, ice_transport_policy="relay"))
    responses: list[httpx.Response] = []
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=20) as client:
        sessions, status = f"/api/v1/agents/{SITE}/sessions", f"/api/v1/agents/{SITE}/status"
        offer = await data_channel_offer()
        answered = await client.post(sessions, content=offer, headers={**SDP, **bearer(mine)})
        assert answered.status_code == 201, answered.text
        assert_fresh_turn_for(SITE, answered)
        told = await client.get(status, headers=bearer(mine))
        assert told.status_code == 200
        assert told.json()["ice_transport_policy"] == "relay"
        assert_fresh_turn_for(SITE, told)
        refused = [
            await client.post(sessions, content=offer, headers=SDP),
            await client.post(sessions, content=offer, headers={**SDP, **bearer("bws_nope")}),
            await client.post(sessions, content=offer, headers={**SDP, **bearer(other)}),
            await client.get(status),
            await client.get(status, headers=bearer(other)),
            await client.get("/api/v1/agents/NOPE/status", headers=bearer(mine)),
        ]
        assert [r.status_code for r in refused] == [401, 401, 403, 401, 403, 404]
        assert all("link" not in r.headers for r in refused)
        responses += [answered, told, *refused, await client.get("/openapi.json")]
    for response in responses:
        assert SECRET not in response.text and SECRET not in str(response.headers)
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert logged and SECRET not in logged
    assert SECRET not in repr(settings.model_copy(update={"turn": TURN}))


async def test_a_page_of_another_origin_may_read_the_links(
    settings: Settings, seeded: SessionMaker
) -> None:
    """Behind CORS a page reads only the headers the monitor exposes."""
    origin = "https://kiosk.tinh.vn"
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    app = create_app(settings.model_copy(update={"turn": TURN, "agent_origins": [origin]}))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        told = await client.get(
            f"/api/v1/agents/{SITE}/status", headers={**bearer(secret), "Origin": origin}
        )
    assert told.headers["access-control-allow-origin"] == origin
    exposed = {h.strip().lower() for h in told.headers["access-control-expose-headers"].split(",")}
    assert {"link", "location"} <= exposed
    assert_fresh_turn_for(SITE, told)


async def test_a_relay_only_agent_goes_up_through_coturn_and_its_samples_say_relayed(
    settings: Settings, seeded: SessionMaker, tmp_path: Path
) -> None:
    """The agent starts with no ICE server at all: relay only, its first dial cannot connect,
    but its answer names the TURN server with credentials, and the next dial goes through."""
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    async with coturn(tmp_path) as turn:
        app = create_app(fast(settings, turn=turn.settings()))
        async with serving(app) as base, httpx.AsyncClient(timeout=20) as client:
            agent = SiteAgent(SITE, secret, rtc_configuration([], "relay"), lambda: Report())
            url = f"{base}/api/v1/agents/{SITE}/sessions"
            pushing = asyncio.create_task(agent.push_forever(url, client))
            try:

                async def relayed() -> bool:
                    async with seeded() as session:
                        sample = await session.scalar(
                            select(Sample)
                            .where(Sample.reachable, Sample.remote_candidate_type.is_not(None))
                            .order_by(Sample.id.desc())
                            .limit(1)
                        )
                    return sample is not None and sample.remote_candidate_type == "relay"

                await eventually(relayed, "a reachable sample with the agent's side relayed")
                [learned] = agent.rtc.iceServers or []
                assert learned.urls == [turn.url]
                assert re.fullmatch(rf"\d+:{SITE}", learned.username or "")
            finally:
                pushing.cancel()
                await agent.close()
        # coturn itself took the site's credentials: the relay is its doing.
        log = turn.log.read_text()
        assert re.search(rf"user <\d+:{SITE}>: incoming packet ALLOCATE processed, success", log)
