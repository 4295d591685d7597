"""The agent page through a TURN server: Debian's coturn on loopback, real Chromium, the real
service. Made to relay everything (BRIDGEWATCH_ICE_TRANSPORT_POLICY=relay), a page enrolled by
its link turns its site `up` through coturn, the samples say the path is relayed and so does the
dashboard's site panel. With a TURN secret coturn does not share, the page says the relay server
refused its credentials, posts no offer nobody could reach, and keeps retrying.
"""

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, Request, expect

from models.auth import Role
from models.db import SessionMaker
from models.settings import Settings, TurnServer
from monitor.wire.links import parse_ice_links
from tests.browser import tile
from tests.databases import SQLITE_ONLY
from tests.probing import eventually
from tests.test_agent_page import (
    LIVE_MS,
    SITE,
    Headers,
    agent_link,
    connected,
    monitor,
    profile,
    site,
    site_turns,
    stored_credential,
)
from tests.turn import coturn

pytestmark = SQLITE_ONLY

REFUSED_VI = re.compile(r"^Máy chủ chuyển tiếp \(TURN\) từ chối thông tin đăng nhập của máy này\.")
REFUSED_EN = re.compile(r"^The relay server \(TURN\) refused this PC's credentials\.")
# What a server may send, read by the page as by the Python agent (tests/test_ice_links.py).
LINKS = (
    '</api/v1/x>; rel="next", <stun:s1:3478>;REL=ice-server, <turn:t1:3478>; rel="ice-server", '
    '<turn:t2:3478>; credential-type="password"; Credential="c\\"q"; rel="other ice-server"; '
    'username="u"; username="x", <stun:b>; rel="ice-server" junk, <stun:c>; rel="ice-server"'
)


def relay_only(settings: Settings, turn: TurnServer) -> Settings:
    return settings.model_copy(update={"turn": turn, "ice_transport_policy": "relay"})


async def latest_sample(service_base: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=service_base, timeout=10) as api:
        response = await api.get(f"/api/v1/sites/{SITE}/samples", params={"limit": 1})
    items: list[dict[str, object]] = response.json()["items"]
    return items[0] if items else {}


def python_reads(header: str) -> list[dict[str, object]]:
    return [
        {
            "urls": s.urls,
            "username": s.username,
            "credential": s.credential.get_secret_value() if s.credential else None,
        }
        for s in parse_ice_links([header])
    ]


async def page_reads(page: Page, header: str) -> list[dict[str, object]]:
    servers: list[dict[str, object]] = await page.evaluate(
        "async (h) => (await import('/static/agent/ice.js')).parseIceLinks(h)", header
    )
    return [
        {"urls": s["urls"], "username": s.get("username"), "credential": s.get("credential")}
        for s in servers
    ]


async def test_a_relay_only_page_turns_its_site_up_through_coturn_and_the_panel_says_relayed(
    settings: Settings, seeded: SessionMaker, auth: Headers, browser: Browser, tmp_path: Path
) -> None:
    async with (
        coturn(tmp_path) as turn,
        monitor(relay_only(settings, turn.settings())) as service,
        profile(browser, service.base) as (_, page),
    ):
        await page.goto(await agent_link(service, auth[Role.OPERATOR]))
        await connected(page)
        credential = await stored_credential(page) or {}
        assert credential["ice_transport_policy"] == "relay"
        servers = credential["ice_servers"]
        assert isinstance(servers, list) and len(servers) == 1, servers
        server: dict[str, Any] = servers[0]  # TURN with credentials for this site
        assert server["urls"] == [turn.url] and re.fullmatch(rf"\d+:{SITE}", server["username"])

        async def relayed() -> bool:
            sample = await latest_sample(service.base)
            return sample.get("reachable") is True and sample["remote_candidate_type"] == "relay"

        await eventually(relayed, "the latest sample says the agent's side is relayed")
        await site_turns(service, "up")
        assert await page_reads(page, LINKS) == python_reads(LINKS)

        async def refreshed() -> bool:
            """The page keeps newer credentials (later expiry) from its status polls."""
            stored = await stored_credential(page) or {}
            servers = stored.get("ice_servers")
            return isinstance(servers, list) and servers[0]["username"] > server["username"]

        await eventually(refreshed, "the stored TURN credentials are refreshed")

        async with profile(browser, service.base) as (_, wall):
            await wall.goto(service.base)
            await wall.locator(tile(wall, SITE)).click()
            path = wall.locator('#site-panel [data-fact="path"]')
            await expect(path.locator("dt")).to_have_text("Đường truyền")
            await expect(path.locator("dd")).to_have_text(
                "qua máy chủ chuyển tiếp (TURN)", timeout=LIVE_MS
            )
    assert re.search(
        rf"user <\d+:{SITE}>: incoming packet ALLOCATE processed, success", turn.log.read_text()
    )


async def test_credentials_the_relay_refuses_are_said_plainly_and_no_offer_is_posted(
    settings: Settings, seeded: SessionMaker, auth: Headers, browser: Browser, tmp_path: Path
) -> None:
    async with (
        coturn(tmp_path) as turn,
        monitor(relay_only(settings, turn.settings(secret="not-the-secret-coturn-has"))) as service,
        profile(browser, service.base) as (_, page),
    ):
        offers: list[str] = []

        def posted(request: Request) -> None:
            if request.method == "POST" and request.url.endswith("/sessions"):
                offers.append(request.url)

        page.on("request", posted)
        await page.goto(await agent_link(service, auth[Role.OPERATOR]))
        why = page.locator("#connection-why")
        await expect(why).to_have_text(REFUSED_VI, timeout=LIVE_MS)
        await expect(page.locator("#connection")).to_have_attribute("data-phase", "waiting")
        await expect(page.locator("#connection-countdown")).to_have_text(
            re.compile(r"^Tự thử lại sau \d+ giây\.$")
        )
        await page.locator("#lang-switch").click()
        await expect(why).to_have_text(REFUSED_EN)
        assert offers == []
        assert (await site(service))["status"] != "up"
    assert re.search(
        rf"user <\d+:{SITE}>: incoming packet [^\n]* error 401: Unauthorized", turn.log.read_text()
    )
