"""The browser agent printed in docs/PROTOCOL.md §6, run as written in real Chromium from a page
on another origin: the document is enough to write an agent, and CORS lets that page dial in."""

import contextlib
import re
import secrets
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.main import create_app
from models.db import SessionMaker
from models.settings import Settings
from models.site import ProbeMode
from tests.browser import kill_processes_with, launch, serve
from tests.databases import SQLITE_ONLY
from tests.probing import eventually, fast, give_agent
from tests.service import free_port

pytestmark = SQLITE_ONLY
PROTOCOL = Path(__file__).resolve().parents[1] / "docs" / "PROTOCOL.md"
SITE = "043"


def documented_agent(monitor: str, site: str, secret: str) -> str:
    """The JavaScript of PROTOCOL.md §6 with its three constants filled in, nothing else."""
    section = PROTOCOL.read_text().split("## 6. A browser agent in JavaScript", 1)[1]
    script = section.split("```js\n", 1)[1].split("```", 1)[0]
    for name, value in (("MONITOR", monitor), ("SITE", site), ("SECRET", secret)):
        script, count = re.subn(
            rf'^const {name} = "[^"]*";', f'const {name} = "{value}";', script, flags=re.MULTILINE
        )
        assert count == 1, f"PROTOCOL.md §6 no longer declares {name} as the test expects"
    return script


def page_site(script: str) -> Starlette:
    """Another web server, hence another origin, serving the agent page."""

    async def page(_: object) -> HTMLResponse:
        return HTMLResponse(f"<!doctype html><title>agent</title><script>{script}</script>")

    return Starlette(routes=[Route("/", page)])


async def _site(api: httpx.AsyncClient) -> dict[str, object]:
    site: dict[str, object] = (await api.get(f"/api/v1/sites/{SITE}")).json()
    return site


async def test_the_documented_browser_agent_dials_in_from_an_allowed_origin(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    page_port = free_port()
    origin = f"http://127.0.0.1:{page_port}"
    monitor_settings = fast(settings, anonymous_read=True, agent_origins=[origin])
    async with (
        serve(create_app(monitor_settings)) as monitor,
        httpx.AsyncClient(base_url=monitor.base, timeout=10) as api,
        serve(page_site(documented_agent(monitor.base, SITE, secret)), page_port),
    ):
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(origin)

        async def up_and_reported() -> bool:
            site = await _site(api)
            latest = site.get("latest") or {}
            report = latest.get("report") if isinstance(latest, dict) else None
            return site["status"] == "up" and bool(report) and "web-agent" in str(report)

        await eventually(up_and_reported, "the browser agent's site is up and has reported")

        await context.close()  # the tab goes away without a goodbye

        async def down() -> bool:
            return (await _site(api))["status"] == "down"

        await eventually(down, "the site is down once the page is gone")


async def test_a_browser_agent_switched_off_is_down_by_its_missed_stun_heartbeats(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    """Liveness by STUN, the default: the monitor's binding requests are answered by Chromium's
    own WebRTC stack, no agent code. The PC switched off (Chromium SIGKILLed: no goodbye on any
    protocol, the channel never closes) is down by its missed heartbeats; a browser that opens
    the page again brings it back."""
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    page_port = free_port()
    origin = f"http://127.0.0.1:{page_port}"
    monitor_settings = fast(settings, anonymous_read=True, agent_origins=[origin])
    assert monitor_settings.liveness == "stun"
    marker = f"--bridgewatch-test-browser={secrets.token_hex(8)}"
    async with (
        serve(create_app(monitor_settings)) as monitor,
        httpx.AsyncClient(base_url=monitor.base, timeout=10) as api,
        serve(page_site(documented_agent(monitor.base, SITE, secret)), page_port),
        async_playwright() as playwright,
    ):

        async def status_is(wanted: str) -> bool:
            return (await _site(api))["status"] == wanted

        switched_off = await launch(playwright, [marker])
        await (await switched_off.new_page()).goto(origin)
        await eventually(lambda: status_is("up"), "the browser agent's site is up")
        assert kill_processes_with(marker) > 0
        await eventually(lambda: status_is("down"), "the site is down once the PC is off")
        assert (await _site(api))["status_reason"] == "3 heartbeats missed"
        with contextlib.suppress(Exception):  # its driver connection is gone with it
            await switched_off.close()

        context = await browser.new_context()
        try:
            await (await context.new_page()).goto(origin)
            await eventually(lambda: status_is("up"), "the site is up again")
        finally:
            await context.close()


async def test_only_listed_origins_get_cors_and_only_on_the_agent_paths(
    settings: Settings, seeded: SessionMaker
) -> None:
    allowed = "https://kiosk.example.vn"
    app = create_app(fast(settings, engine=False, anonymous_read=True, agent_origins=[allowed]))
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    async with serve(app) as monitor, httpx.AsyncClient(base_url=monitor.base) as client:
        sessions = f"/api/v1/agents/{SITE}/sessions"
        ok = await client.options(sessions, headers={"Origin": allowed, **preflight})
        refused = await client.options(
            sessions, headers={"Origin": "https://elsewhere.example", **preflight}
        )
        api = await client.get("/api/v1/sites", headers={"Origin": allowed})

    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == allowed
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    assert api.status_code == 200 and "access-control-allow-origin" not in api.headers


@pytest.mark.parametrize("origin", ["https://kiosk.example.vn/", "kiosk.example.vn", "ftp://x"])
def test_an_origin_with_a_path_or_no_scheme_is_refused_with_a_clear_message(
    origin: str, databases: str
) -> None:
    with pytest.raises(ValidationError, match="not an origin like https://host"):
        Settings(agent_origins=[origin])
