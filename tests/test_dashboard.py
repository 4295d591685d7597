"""The live dashboard as technicians see it: real Chromium, the real service with its probe
engine, real WebRTC agents on loopback, and the seeded Cao Bằng topology (172 sites).

The dashboard is about the page, so these tests run on SQLite only; the API they rely on is
tested on both databases elsewhere. Every wait has a deadline; what is asserted is what a user
sees, never how fast it came (the machine has two busy cores).
"""

import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Route,
    ViewportSize,
    expect,
)
from sqlalchemy import select, update

from app.main import create_app
from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.incident import Incident
from models.settings import Settings
from models.site import ProbeMode, Site, SiteStatus
from models.topology.builtin import seed_if_empty
from monitor.agent.http import agent_app
from monitor.agent.site_agent import VERSION, SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.browser import (
    BURST_JS,
    HALL_TIME_ZONE,
    PHONE,
    PUBLISH_SCREENSHOTS,
    ROOT,
    WALL,
    artifacts_folder,
    counter,
    screenshot,
    serve,
    tile,
    tile_statuses,
)
from tests.databases import SQLITE_ONLY
from tests.probing import fast, give_agent, serving
from tests.service import free_port

pytestmark = SQLITE_ONLY

Headers = dict[Role, dict[str, str]]
STATUSES = ["up", "degraded", "down", "unknown", "maintenance", "paused", "unmonitored"]
# Deadlines in milliseconds for Playwright's expect(): generous, the box is slow and shared.
PAGE_MS = 20_000
LIVE_MS = 30_000
NOTE = "Đã gọi anh Thắng, đang khởi động lại bộ mã hóa"


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The screenshots' folder: temporary, or $BRIDGEWATCH_TEST_ARTIFACTS to keep them."""
    return artifacts_folder(tmp_path_factory)


@contextlib.asynccontextmanager
async def opened(
    browser: Browser, viewport: ViewportSize, token: str | None = None
) -> AsyncIterator[Page]:
    """A fresh browser profile (own localStorage) at the hall's time zone; `token` is stored
    before the page loads, as if the user had entered it earlier. Fails on any script error."""
    context = await browser.new_context(viewport=viewport, timezone_id=HALL_TIME_ZONE)
    context.set_default_timeout(PAGE_MS)
    if token:
        await context.add_init_script(f"localStorage.setItem('bw.token', {json.dumps(token)})")
    errors: list[str] = []
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message: ConsoleMessage) -> None:
        # Failed requests (a 401 before signing in, a stopped service) are expected; a script
        # error logged by the page's own guard (frame.js) is not.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(message.text)

    page.on("console", console)
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], errors


def agents_for(secrets: dict[str, str]) -> dict[str, SiteAgent]:
    rtc = rtc_configuration([])
    report = Report(attendance=21, camera_ok=True, microphone_ok=True)
    return {code: SiteAgent(code, secret, rtc, lambda: report) for code, secret in secrets.items()}


async def with_agents(
    sessionmaker: SessionMaker, codes: list[str], port: int
) -> dict[str, SiteAgent]:
    secrets = {
        code: await give_agent(sessionmaker, code, f"http://127.0.0.1:{port}/{code}")
        for code in codes
    }
    return agents_for(secrets)


async def expect_status(page: Page, api: httpx.AsyncClient, code: str, status: str) -> None:
    """The site's tile shows `status` within the deadline; if not, say what the API says, to
    tell a slow page from a slow probe."""
    try:
        await expect(page.locator(tile(page, code))).to_have_attribute(
            "data-status", status, timeout=LIVE_MS
        )
    except AssertionError as error:
        served = (await api.get(f"/api/v1/sites/{code}")).json().get("status")
        raise AssertionError(
            f"{code} is not {status} on the page; the API says {served}"
        ) from error


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def site_name(sessionmaker: SessionMaker, code: str) -> str:
    async with sessionmaker() as session:
        name = await session.scalar(select(Site.name).where(Site.code == code))
    assert name is not None
    return name


async def test_the_wall_shows_every_site_and_the_probed_ones_turn_up(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    port = free_port()
    live = ["01267", "01270", "01273"]
    agents = await with_agents(seeded, live, port)
    name = await site_name(seeded, "01267")
    try:
        async with (
            serving(agent_app(agents), port),
            serve(create_app(fast(settings, anonymous_read=True))) as service,
            opened(browser, WALL) as page,
            httpx.AsyncClient(base_url=service.base, timeout=10) as api,
        ):
            await page.goto(service.base)
            await expect(page.locator("button.tile")).to_have_count(172)
            await expect(page.locator("svg [data-site]")).to_have_count(172)  # map markers
            await expect(page.locator("#me")).to_have_text("Khách (chỉ xem)")
            for code in live:
                await expect_status(page, api, code, "up")
            # Delegates present: the three agents report 21 each.
            await expect(page.locator('[data-counter="attendance"] .counter-value')).to_have_text(
                "63", timeout=LIVE_MS
            )
            await counters_match_tiles(page)
            await search_and_filter(page)
            await open_panel_with_the_keyboard(page, "01267", name)
            await page.locator('svg [data-site="042"]').click()  # a marker opens its site too
            await expect(page.locator("#panel-title")).to_have_text("Huyện Bảo Lâm")
            await page.keyboard.press("Escape")
    finally:
        for agent in agents.values():
            await agent.close()


async def counters_match_tiles(page: Page, up: int = 3) -> None:
    statuses = list((await tile_statuses(page)).values())
    for status in STATUSES:
        assert await counter(page, status) == statuses.count(status), status
    assert await counter(page, "total") == len(statuses) == 172
    assert statuses.count("up") == up


async def search_and_filter(page: Page) -> None:
    await page.keyboard.press("/")  # focuses the search box
    await page.keyboard.type("hoa an")  # no diacritics: finds Huyện Hòa An
    await expect(page.locator(tile(page, "051"))).to_be_visible()
    await expect(page.locator(tile(page, "040"))).to_be_hidden()
    await page.locator("#search").fill("")
    await expect(page.locator("button.tile:visible")).to_have_count(172)

    await page.locator('[data-counter="up"]').click()  # a counter filters by its status
    await expect(page.locator("button.tile:visible")).to_have_count(3)
    await page.locator("#filter-level").select_option("district")
    await expect(page.locator("button.tile:visible")).to_have_count(0)
    await expect(page.locator("#tiles-empty")).to_be_visible()
    await page.locator("#filter-level").select_option("")
    await page.locator('[data-counter="up"]').click()
    await expect(page.locator("button.tile:visible")).to_have_count(172)

    await page.locator("#filter-group").select_option("042")  # the communes of Huyện Bảo Lâm
    await expect(page.locator("button.tile:visible")).to_have_count(13)
    await expect(page.locator("svg [data-site]:visible")).to_have_count(13)  # the map follows
    await page.locator("#filter-group").select_option("")
    await expect(page.locator("svg [data-site]:visible")).to_have_count(172)


async def open_panel_with_the_keyboard(page: Page, code: str, name: str) -> None:
    site = page.locator(tile(page, code))
    await site.focus()
    await page.keyboard.press("Enter")
    panel = page.locator("#site-panel")
    await expect(panel).to_be_visible()
    await expect(panel.locator("#panel-title")).to_have_text(name)
    await expect(panel.locator("#panel-status")).to_contain_text("Hoạt động")
    await expect(panel.locator('[data-fact="agent"] dd')).to_have_text(VERSION)
    await expect(panel.locator('[data-fact="camera"] dd')).to_contain_text("Tốt")
    await expect(panel.locator('[data-fact="rtt"] dd')).to_have_text(re.compile(r"^\d+ ms$"))
    await expect(panel.locator("#panel-charts svg.chart")).to_have_count(4)
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(site).to_be_focused()


async def as_a_busy_morning(sessionmaker: SessionMaker, keep: set[str]) -> None:
    """Sites without an agent in the test, as an earlier day of probing left them: most up
    with delegates in the room, a few degraded (with open incidents), a few paused. Only for
    the screenshots to show a realistic wall; the probe engine leaves these sites alone."""
    async with sessionmaker() as session:
        sites = await session.scalars(
            select(Site).where(Site.level != "hub", Site.code.not_in(keep)).order_by(Site.code)
        )
        for i, site in enumerate(sites):
            site.latest = {
                "at": utcnow().isoformat(),
                "reachable": True,
                "rtt_median_seconds": 0.03 + (i % 7) / 100,
                "jitter_seconds": 0.004,
                "loss_ratio": 0.0,
                "mos": 4.3,
                "attendance": 12 + i % 20,
            }
            if i % 41 == 7:
                site.set_status(SiteStatus.DEGRADED)
                session.add(Incident(site_id=site.id, severity="degraded", opened_at=utcnow()))
            elif i % 59 == 11:
                site.enabled = False
                site.set_status(SiteStatus.PAUSED)
                site.latest = None
            else:
                site.set_status(SiteStatus.UP)
        await session.commit()


async def test_a_lost_site_goes_down_live_and_an_operator_acknowledges_it(
    settings: Settings, seeded: SessionMaker, auth: Headers, browser: Browser, artifacts: Path
) -> None:
    port, victim_port = free_port(), free_port()
    agents = await with_agents(seeded, ["01267"], port)
    victims = await with_agents(seeded, ["01270"], victim_port)
    async with seeded() as session:
        await session.execute(
            update(Site)
            .where(Site.code == "01270")
            .values(contact_name="Nông Văn Thắng", contact_phone="0912 345 678")
        )
        await session.commit()
    victim_name = await site_name(seeded, "01270")
    await as_a_busy_morning(seeded, keep={"01267", "01270"})
    operator = auth[Role.OPERATOR]
    try:
        async with (
            serving(agent_app(agents), port),
            serve(create_app(fast(settings))) as service,
            opened(browser, WALL) as page,
            httpx.AsyncClient(base_url=service.base, headers=operator, timeout=10) as api,
        ):
            async with serving(agent_app(victims), victim_port):
                await page.goto(service.base)
                await sign_in_through_the_form(page, bearer(operator))
                for code in ("01267", "01270"):
                    await expect_status(page, api, code, "up")
                await page.evaluate("window.keptAlive = true")  # gone if the page reloads
            await victims["01270"].close()  # the agent and its server are gone

            await expect_status(page, api, "01270", "down")
            assert await page.evaluate("window.keptAlive") is True
            # The open one: the site may have had a short episode while its link came up.
            incident = page.locator('[data-incident][data-state="open"]', has_text=victim_name)
            await expect(incident).to_have_attribute("data-severity", "down", timeout=LIVE_MS)
            await expect(incident.locator(".inc-ack")).to_have_text("Chưa xác nhận")
            await expect(page).to_have_title("✖ 1 — BridgeWatch")  # flashes until touched
            assert await counter(page, "down") == 1
            await screenshot(page, artifacts, "wall", publish=True)
            await worst_first_puts_the_lost_site_on_top(page, "01270", "040")

            await call_from_the_panel(page, "01270", artifacts)
            await acknowledge(incident)
            incident_id = int(await incident.get_attribute("data-incident") or "0")

            await page.reload()  # the token stays in localStorage, the note on the server
            await expect(incident).to_have_attribute("data-acknowledged", "true")
            await expect(incident.locator(".inc-ack")).to_contain_text(NOTE)
            await expect(incident.locator(".inc-ack")).to_contain_text("test-operator")
            await expect(incident.locator(".ack-open")).to_have_count(0)
            body = (await api.get(f"/api/v1/incidents/{incident_id}")).json()
            assert (body["ack_note"], body["acknowledged_by"]) == (NOTE, "test-operator")
            await a_revoked_token_is_told_then_signed_out(page, auth[Role.ADMIN], service.base)
    finally:
        for agent in [*agents.values(), *victims.values()]:
            await agent.close()


async def worst_first_puts_the_lost_site_on_top(page: Page, code: str, district: str) -> None:
    await page.locator("#sort-worst").check()
    group = page.locator(f'.group[data-group="{district}"]')
    await expect(page.locator(".group").nth(1)).to_have_attribute("data-group", district)
    await expect(group.locator("button.tile").first).to_have_attribute("data-site", code)
    await page.locator("#sort-worst").uncheck()  # back to the official order, by code
    await expect(group.locator("button.tile").first).not_to_have_attribute("data-site", code)


async def a_revoked_token_is_told_then_signed_out(
    page: Page, admin: dict[str, str], base: str
) -> None:
    """The server's own reason reaches the operator; signing out asks for a token again."""
    async with httpx.AsyncClient(base_url=base, headers=admin, timeout=10) as api:
        tokens = (await api.get("/api/v1/tokens")).json()
        (operator,) = [t["id"] for t in tokens if t["name"] == "test-operator"]
        assert (await api.delete(f"/api/v1/tokens/{operator}")).status_code == 204
    other = page.locator('#incidents-open [data-incident][data-acknowledged="false"]').first
    await other.locator(".ack-open").click()
    await other.locator(".ack-submit").click()
    await expect(other.locator(".ack-error")).to_have_text(
        "Không xác nhận được: the token is unknown, revoked or expired"
    )
    await page.locator("#auth-button").click()  # "Đăng xuất"
    await expect(page.locator("#token-dialog")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('bw.token')") is None


async def sign_in_through_the_form(page: Page, token: str) -> None:
    """Anonymous reading is off: the stream answers 401 and the page asks for a token."""
    dialog = page.locator("#token-dialog")
    await expect(dialog).to_be_visible()
    await page.locator("#token-input").fill(token)
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#me")).to_have_text("test-operator · điều hành viên")
    await expect(page.locator("#auth-button")).to_have_text("Đăng xuất")


async def call_from_the_panel(page: Page, code: str, artifacts: Path) -> None:
    await page.locator(tile(page, code)).click()
    panel = page.locator("#site-panel")
    await expect(panel.locator("#panel-status")).to_contain_text("Mất kết nối")
    await expect(panel.locator('[data-fact="contact"] dd')).to_have_text("Nông Văn Thắng")
    phone = panel.locator('[data-fact="phone"] a')
    await expect(phone).to_have_attribute("href", "tel:0912345678")
    await screenshot(page, artifacts, "panel")
    await panel.locator("#panel-close").click()
    await expect(panel).to_be_hidden()


async def acknowledge(incident: Locator) -> None:
    await incident.locator(".ack-open").click()
    await incident.locator(".ack-note").fill(NOTE)
    await incident.locator(".ack-submit").click()
    await expect(incident).to_have_attribute("data-acknowledged", "true")
    await expect(incident.locator(".inc-ack")).to_contain_text(NOTE)
    await expect(incident.locator(".ack-open")).to_have_count(0)


# A catalogue key shown instead of its text ("status.up") would match this.
UNTRANSLATED = re.compile(
    r"\b(app|status|level|counters|sites|search|filter|sort|group|tile|map|incidents?|"
    r"duration|unit|value|panel|chart|stale|auth|role|lang|mute|title|error)\.[a-z]"
)


# The two text-handling pieces the page relies on, run in the page itself: accent folding for
# search, and the event-stream parser fed awkward chunks (split lines, CRLF, comments).
PARSING_JS = """async () => {
    const { fold } = await import('/static/js/text.js');
    const { SseParser } = await import('/static/js/sse.js');
    const events = [];
    const parser = new SseParser((type, data) => events.push([type, data]));
    const chunks = ['retry: 2000\\n\\nevent: upd', 'ate\\r\\ndata: {"a":', '1}\\r',
                    '\\n\\r\\n: keep-alive\\n\\ndata: x\\r', '\\ndata: y\\n\\n'];
    for (const chunk of chunks) {
      parser.push(chunk);
    }
    return { folded: fold('  Xã ĐỒNG   Hòa ÂN '), events };
}"""
PARSED = {"folded": "xa dong hoa an", "events": [["update", '{"a":1}'], ["message", "x\ny"]]}


async def test_switching_language_changes_the_labels(
    settings: Settings, seeded: SessionMaker, browser: Browser, artifacts: Path
) -> None:
    async with (
        serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service,
        opened(browser, WALL) as page,
    ):
        await page.goto(service.base)
        label = page.locator('[data-counter="up"] .counter-label')
        await expect(label).to_have_text("Hoạt động")
        await expect(page.locator("html")).to_have_attribute("lang", "vi")
        await expect(page.locator(tile(page, "040"))).to_have_attribute(
            "aria-label", "Thành phố Cao Bằng, Cấp huyện: Chưa rõ"
        )
        assert not UNTRANSLATED.search(await page.locator("body").inner_text())

        await page.locator("#lang-switch").click()
        await expect(label).to_have_text("Up")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.locator("#incidents-title")).to_have_text("Incidents")
        await expect(page.locator("#lang-switch")).to_have_text("Tiếng Việt")
        await expect(page.locator(tile(page, "040"))).to_have_attribute(
            "aria-label", "Thành phố Cao Bằng, District: Unknown"
        )
        await expect(page.locator('.group[data-group="_top"] .group-title')).to_have_text(
            "Hub and districts"
        )
        assert not UNTRANSLATED.search(await page.locator("body").inner_text())
        await screenshot(page, artifacts, "english")

        await page.reload()  # the choice is remembered
        await expect(label).to_have_text("Up")
        await page.goto(f"{service.base}/?lang=vi")  # and ?lang= wins for one visit
        await expect(label).to_have_text("Hoạt động")
        keys = await page.evaluate(
            """async () => {
                const { catalogues } = await import('/static/js/i18n.js');
                return [Object.keys(catalogues.vi).sort(), Object.keys(catalogues.en).sort()];
            }"""
        )
        assert keys[0] == keys[1]

        assert await page.evaluate(PARSING_JS) == PARSED

        mute = page.locator("#mute-toggle")
        await expect(mute).to_have_text("Tắt âm báo")
        await mute.click()
        await expect(mute).to_have_text("Bật âm báo")
        await page.reload()  # remembered too
        await expect(mute).to_have_text("Bật âm báo")


async def open_incident(sessionmaker: SessionMaker, code: str) -> int:
    """A site down with an open incident, as the recorder would have left them."""
    async with sessionmaker() as session:
        site = await session.scalar(select(Site).where(Site.code == code))
        assert site is not None
        site.set_status(SiteStatus.DOWN, "3 heartbeats missed")
        incident = Incident(
            site_id=site.id, severity=SiteStatus.DOWN, opened_at=utcnow() - timedelta(minutes=4)
        )
        session.add(incident)
        await session.commit()
        return incident.id


async def test_a_viewer_sees_no_acknowledge_action_and_the_server_refuses_one(
    settings: Settings, seeded: SessionMaker, auth: Headers, browser: Browser, artifacts: Path
) -> None:
    incident_id = await open_incident(seeded, "01267")
    await as_a_busy_morning(seeded, keep={"01267"})
    viewer = auth[Role.VIEWER]
    async with (
        serve(create_app(settings)) as service,
        opened(browser, PHONE, token=bearer(viewer)) as page,
        httpx.AsyncClient(base_url=service.base, headers=viewer, timeout=10) as api,
    ):
        await page.goto(service.base)
        incident = page.locator(f'[data-incident="{incident_id}"]')
        await expect(incident).to_be_visible()
        await expect(incident).to_have_attribute("data-state", "open")
        await expect(page.locator("#me")).to_have_text("test-viewer · người xem")
        await expect(page.locator(".ack-open")).to_have_count(0)
        await expect(page.locator(tile(page, "01267"))).to_have_attribute("data-status", "down")
        await phone_shows_counters_then_problems(page)
        await page.locator(tile(page, "01267")).click()  # opened after the drop, it says why
        reason = page.locator('#site-panel [data-fact="reason"] dd')
        await expect(reason).to_have_text("3 nhịp kiểm tra liên tiếp không được trả lời")
        await page.locator("#panel-close").click()
        await page.evaluate("window.scrollTo(0, 0)")  # the picture shows what a phone opens on
        await page.mouse.move(0, 0)  # and no button under a pointer that a phone does not have
        await screenshot(page, artifacts, "phone", publish=True)

        # Forced through the page's own API module, with the stored viewer token.
        refused = await page.evaluate(
            """async (id) => {
                const api = await import('/static/js/api.js');
                try { await api.acknowledge(id, 'forced'); return null; }
                catch (error) { return { status: error.status, detail: error.message }; }
            }""",
            incident_id,
        )
        assert refused is not None and refused["status"] == 403
        assert "operator" in refused["detail"]
        direct = await api.post(f"/api/v1/incidents/{incident_id}/ack", json={"note": "forced"})
        assert direct.status_code == 403
        assert direct.headers["content-type"].startswith("application/problem+json")
        assert (await api.get(f"/api/v1/incidents/{incident_id}")).json()["ack_note"] is None


async def phone_shows_counters_then_problems(page: Page) -> None:
    """On a phone the counters come first, then the open incidents, then the sites."""
    tops = await page.evaluate(
        """() => ['#counters', '#incidents-open', '#tiles'].map(
            (s) => document.querySelector(s).getBoundingClientRect().top)"""
    )
    assert tops == sorted(tops), tops
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "nothing may stick out sideways on a phone"


async def test_the_stale_banner_shows_when_the_service_goes_away(
    settings: Settings, seeded: SessionMaker, browser: Browser, artifacts: Path
) -> None:
    readable = settings.model_copy(update={"anonymous_read": True})
    port = free_port()
    async with opened(browser, WALL) as page:
        banner = page.locator("#stale-banner")
        async with serve(create_app(readable), port) as service:
            await page.goto(service.base)
            await expect(page.locator("button.tile")).to_have_count(172)
            await expect(banner).to_be_hidden()
            await page.evaluate("window.keptAlive = true")
            await service.stop()
            await expect(banner).to_be_visible()
            await expect(banner).to_have_text(re.compile(r"^Dữ liệu cũ từ \d\d:\d\d:\d\d"))
            await expect(page.locator("body")).to_have_class(re.compile("is-stale"))
            await expect(page.locator("button.tile")).to_have_count(172)  # last data stays
            await screenshot(page, artifacts, "stale")
        async with serve(create_app(readable), port):  # back, on the same address
            await expect(banner).to_be_hidden(timeout=LIVE_MS)  # reconnected by itself
            assert await page.evaluate("window.keptAlive") is True


async def test_the_national_topology_stays_fluid_under_a_burst_of_changes(
    settings: Settings, sessionmaker: SessionMaker, browser: Browser
) -> None:
    await seed_if_empty(sessionmaker, "vietnam-2025")
    async with (
        serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service,
        opened(browser, WALL) as page,
    ):
        await page.goto(service.base)
        await expect(page.locator("button.tile")).to_have_count(3356)
        result = await page.evaluate(BURST_JS, {"seconds": 4})
        assert result["wrong"] == [] and result["changed"] > 300
        # Each update repaints the tiles it names: rebuilding 3,356 tiles takes seconds, ~70 ms
        # an update does not (how long the page's tasks take is measured in bench/dashboard.py).
        assert result["rebuilt"] == 0, result
        await expect(page.locator('[data-counter="total"] .counter-value')).to_have_text("3.356")


# Chooses a site's status from its index in code order, its code and its parent's code.
Pick = Callable[[int, str, str], SiteStatus]


async def set_statuses(sessionmaker: SessionMaker, pick: Pick) -> dict[str, SiteStatus]:
    """Gives every site but the hub the status `pick` chooses, as probing would have left
    them; returns them by code."""
    chosen = {}
    async with sessionmaker() as session:
        codes = {id: code for id, code in await session.execute(select(Site.id, Site.code))}
        sites = await session.scalars(select(Site).where(Site.level != "hub").order_by(Site.code))
        for i, site in enumerate(sites):
            chosen[site.code] = pick(i, site.code, codes.get(site.parent_id or 0, ""))
            site.set_status(chosen[site.code])
        await session.commit()
    return chosen


# Every tile of a site in trouble whose name is cut (by an ellipsis or by the tile's edge).
CUT_NAMES_JS = """async () => {
    const cut = [];
    for (const group of document.querySelectorAll('.group')) {
      group.scrollIntoView(); // groups out of view are not laid out
      await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
      for (const tile of group.querySelectorAll('button.tile')) {
        if (!['down', 'degraded'].includes(tile.dataset.status)) continue;
        const name = tile.querySelector('.tile-name');
        const [box, text] = [tile, name].map((node) => node.getBoundingClientRect());
        const whole = name.scrollWidth <= name.clientWidth &&
          text.left >= box.left && text.right <= box.right &&
          text.top >= box.top && text.bottom <= box.bottom;
        if (!whole) cut.push(name.textContent);
      }
    }
    return cut;
}"""


async def test_the_wall_shows_the_whole_name_of_every_site_in_trouble(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    """Real Cao Bằng names, two thirds of the sites in trouble, on the wall screen."""
    trouble = [SiteStatus.DOWN, SiteStatus.DEGRADED, SiteStatus.UP]
    statuses = await set_statuses(seeded, lambda i, _code, _parent: trouble[i % 3])
    async with (
        serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service,
        opened(browser, WALL) as page,
    ):
        await page.goto(service.base)
        await expect(page.locator('button.tile[data-status="down"]')).to_have_count(57)
        assert len(statuses) == 171
        assert await page.evaluate(CUT_NAMES_JS) == []
        healthy = await page.locator('button.tile[data-status="up"]').first.bounding_box()
        assert healthy is not None and healthy["height"] == 28  # healthy ones stay compact


async def test_a_page_that_has_not_heard_from_the_service_says_it_is_connecting(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    """The stream's answer is held back: nothing on the page may look like "all is well"."""
    held: list[Route] = []

    async def hold(route: Route) -> None:
        held.append(route)  # answered at the end of the test

    async with (
        serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service,
        opened(browser, WALL) as page,
    ):
        await page.route("**/api/v1/stream", hold)
        await page.goto(service.base)
        feed = page.locator("#incidents-empty")
        connecting = page.locator("#tiles-connecting")
        await expect(connecting).to_have_text("Đang kết nối…")
        await expect(feed).to_have_text("Đang chờ dữ liệu từ máy chủ…")
        values = page.locator(".counter-value")
        await expect(values).to_have_text(["—"] * (len(STATUSES) + 2))  # and delegates, total
        assert len(held) == 1
        await page.locator("#lang-switch").click()
        await expect(connecting).to_have_text("Connecting…")
        await expect(feed).to_have_text("Waiting for the server…")
        await expect(page.locator("#stale-banner")).to_be_hidden()  # not lost: not there yet
        body = await page.locator("body").inner_text()
        assert "No incidents" not in body and "Không có sự cố" not in body

        await held[0].continue_()
        await expect(page.locator("button.tile")).to_have_count(172)
        await expect(feed).to_have_text("No incidents")
        await expect(connecting).to_be_hidden()
        await expect(page.locator('[data-counter="total"] .counter-value')).to_have_text("172")
        await expect(page.locator('[data-counter="up"] .counter-value')).to_have_text("0")


async def test_the_hub_is_shown_as_not_monitored_and_a_paused_site_stays_paused(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    """The hub (probe_mode none) is not probed by design: neither unknown nor up. A site that is
    not probed either but disabled is in maintenance and looks it."""
    async with seeded() as session:
        site = await session.scalar(select(Site).where(Site.code == "040"))
        assert site is not None
        site.assign({"probe_mode": ProbeMode.NONE, "enabled": False})
        await session.commit()
    async with (
        serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service,
        opened(browser, WALL) as page,
    ):
        await page.goto(service.base)
        hub = page.locator(tile(page, "04"))
        await expect(hub).to_have_attribute("data-status", "unmonitored")
        await expect(hub).to_contain_text("Không giám sát")
        await expect(page.locator('svg [data-site="04"]')).to_have_attribute(
            "data-status", "unmonitored"
        )
        await expect(page.locator(tile(page, "040"))).to_have_attribute("data-status", "paused")
        await counters_match_tiles(page, up=0)
        assert await counter(page, "unknown") == 170
        assert await counter(page, "unmonitored") == 1

        await hub.click()
        status = page.locator("#panel-status")
        await expect(status).to_have_text("○ Không giám sát")
        await page.keyboard.press("Escape")
        await page.locator("#lang-switch").click()
        await expect(hub).to_contain_text("Not monitored")
        await hub.click()
        await expect(status).to_have_text("○ Not monitored")
        await expect(page.locator('[data-counter="unmonitored"] .counter-label')).to_have_text(
            "Not monitored"
        )


# Every pair of shown map labels that overlap, and every shown label over a marker.
MAP_CLASHES_JS = """() => {
    const shown = (node) => node.getClientRects().length > 0;
    const box = (node) => node.getBoundingClientRect();
    const labels = [...document.querySelectorAll('.map-labels text')].filter(shown);
    const markers = [...document.querySelectorAll('.map-markers [data-site]')].filter(shown);
    const meet = (a, b) =>
      a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const clashes = [];
    labels.forEach((label, i) => {
      for (const other of labels.slice(i + 1)) {
        if (meet(box(label), box(other))) clashes.push([label.textContent, other.textContent]);
      }
      for (const marker of markers) {
        if (meet(box(label), box(marker))) clashes.push([label.textContent, marker.dataset.site]);
      }
    });
    return { clashes, labels: labels.map((label) => label.textContent) };
}"""


def in_the_east(i: int, code: str, parent: str) -> SiteStatus:
    """The eastern cluster (Trùng Khánh, Hạ Lang, Quảng Hòa) in a bad hour; the rest up."""
    if code in ("048", "053"):
        return SiteStatus.DEGRADED if code == "048" else SiteStatus.DOWN
    if parent in ("047", "048", "049") and i % 4 == 0:
        return SiteStatus.DOWN if i % 8 == 0 else SiteStatus.DEGRADED
    return SiteStatus.UP


async def test_map_labels_overlap_neither_each_other_nor_markers(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    statuses = await set_statuses(seeded, in_the_east)
    async with (
        serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service,
        opened(browser, WALL) as page,
    ):
        await page.goto(service.base)
        await expect(page.locator('.map-markers [data-status="down"]')).to_have_count(
            sum(status == "down" for status in statuses.values())
        )
        await page.evaluate("new Promise((done) => requestAnimationFrame(done))")
        found = await page.evaluate(MAP_CLASHES_JS)
        assert found["clashes"] == [], found
        assert len(found["labels"]) >= 8, found  # room was found for many of them
        assert "Thạch An" in found["labels"]  # a district down comes before those that are well

        # Any site is named when pointed at: its marker under the mouse, or its tile focused.
        pointed = page.locator(".map-pointed")
        await expect(pointed).to_be_hidden()
        await page.locator('.map-markers [data-site="053"]').hover()
        await expect(pointed).to_have_text("Thạch An")
        await page.mouse.move(0, 0)
        await expect(pointed).to_be_hidden()
        await page.locator(tile(page, "01477")).focus()
        await expect(pointed).to_have_text("TT. Trùng Khánh")


@pytest.mark.usefixtures("databases")
async def test_screenshots_stay_out_of_the_checkout_unless_published(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test run leaves a clean checkout clean: the README's pictures change on request only."""
    readme_picture = ROOT / "docs" / "screenshot-wall.png"
    before = readme_picture.read_bytes()
    page = await browser.new_page(viewport=WALL)
    try:
        await page.set_content("<p>BridgeWatch</p>")
        monkeypatch.delenv(PUBLISH_SCREENSHOTS, raising=False)
        saved = await screenshot(page, tmp_path, "wall", publish=True)
        assert saved.parent == tmp_path and saved.stat().st_size > 0
        assert readme_picture.read_bytes() == before

        published = tmp_path / "published"
        published.mkdir()
        monkeypatch.setenv(PUBLISH_SCREENSHOTS, str(published))
        await screenshot(page, tmp_path, "wall", publish=True)
        await screenshot(page, tmp_path, "panel")  # not one of the README's
        assert [path.name for path in published.iterdir()] == ["screenshot-wall.png"]
    finally:
        await page.close()
