"""The agent page (/agent) as a commune technician uses it: real Chromium, the real service with
its probe engine on a real socket, the seeded Cao Bằng topology. A site joins by opening its
operator's link; the page dials in by push with the browser's own WebRTC, reports attendance,
shows what the monitor sees of the site, and says what to do when something is wrong.

Each page runs in a browser profile of its own and fails its test on a script error, a request
that leaves the service's origin, or a Content-Security-Policy violation. What is asserted is
what a user sees and what the API then says, never how fast it came.
"""

import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Request, expect
from playwright.async_api import ViewportSize as Viewport
from sqlalchemy import update

from app.dashboard import CSP, STATIC
from app.main import create_app
from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.enrolment import AgentEnrolment
from models.settings import Settings
from models.site import ProbeMode
from tests.browser import HALL_TIME_ZONE, PHONE, Service, artifacts_folder, serve
from tests.databases import SQLITE_ONLY
from tests.probing import eventually, fast, give_agent
from tests.service import free_port

pytestmark = SQLITE_ONLY

Headers = dict[Role, dict[str, str]]
SITE = "01273"
SITE_NAME = "Phường Hợp Giang"
LAPTOP = Viewport(width=1366, height=768)  # the commune's conference PC
PAGE_MS = 20_000
LIVE_MS = 45_000
CREDENTIAL_KEY = "bw.agent.credential"
# Every report the page sends over the data channel, kept for the test to read.
RECORD_REPORTS_JS = """(() => {
  window.sentReports = [];
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    try {
      const message = JSON.parse(data);
      if (message.type === 'report') window.sentReports.push(message);
    } catch {}
    return send.call(this, data);
  };
})();"""
# Words of the English catalogue that would betray an untranslated Vietnamese screen.
ENGLISH = re.compile(
    r"\b(connect\w*|server|monitor\w*|status|delegates?|send|sent|loss|delay|last|contact|"
    r"good|down|unknown|paused|unstable|network|link|check|call|keep|page|site|the|and|of)\b",
    re.IGNORECASE,
)
KEY_SHOWN = re.compile(
    r"\b(app|lang|welcome|notice|enrol|revoked|elsewhere|connection|why|verdict|fact|"
    r"attendance|help|wake|time|value)\.[a-zA-Z]"
)
VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")


@dataclass
class Watch:
    """What a browser profile did that it must not: script errors, requests to anywhere but
    the service, Content-Security-Policy violations."""

    base: str
    errors: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def request(self, request: Request) -> None:
        if not request.url.startswith(self.base + "/"):
            self.elsewhere.append(request.url)

    def console(self, message: ConsoleMessage) -> None:
        # Refusals the page expects (a used link: 410; its own DELETE of a session the monitor
        # already ended: 404) are logged by the browser as failed loads; other errors are not.
        failed_load = "Failed to load resource" in message.text
        if "Content Security Policy" in message.text:
            self.refused.append(message.text)
        elif "missing translation" in message.text or (message.type == "error" and not failed_load):
            self.errors.append(message.text)

    def check(self) -> None:
        assert self.errors == [], self.errors
        assert self.elsewhere == [], f"requests left the service's origin: {self.elsewhere}"
        assert self.refused == [], self.refused


@contextlib.asynccontextmanager
async def profile(
    browser: Browser, base: str, viewport: Viewport = LAPTOP
) -> AsyncIterator[tuple[BrowserContext, Page]]:
    """A fresh browser profile (its own localStorage) at the hall's time zone, watched: it may
    speak only to the service at `base`."""
    context = await browser.new_context(viewport=viewport, timezone_id=HALL_TIME_ZONE)
    context.set_default_timeout(PAGE_MS)
    await context.add_init_script(RECORD_REPORTS_JS)
    watch = Watch(base)
    context.on("request", watch.request)
    context.on("console", watch.console)
    context.on("weberror", lambda error: watch.errors.append(str(error.error)))
    page = await context.new_page()
    try:
        yield context, page
    finally:
        await context.close()
    watch.check()


@contextlib.asynccontextmanager
async def monitor(settings: Settings, port: int | None = None) -> AsyncIterator[Service]:
    """The service with its probe engine, fast probing, anonymous reads, and agent links made
    for its own address."""
    port = port or free_port()
    public = f"http://127.0.0.1:{port}"
    app = create_app(fast(settings, anonymous_read=True, public_url=public))
    async with serve(app, port) as service:
        yield service


async def agent_link(service: Service, operator: dict[str, str], code: str = SITE) -> str:
    async with httpx.AsyncClient(base_url=service.base, headers=operator, timeout=10) as api:
        response = await api.post(f"/api/v1/sites/{code}/agent-link", json={})
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    assert url.startswith(f"{service.base}/agent#enrol=")
    return url


async def site(service: Service, code: str = SITE) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=service.base, timeout=10) as api:
        body: dict[str, object] = (await api.get(f"/api/v1/sites/{code}")).json()
    return body


async def site_turns(service: Service, status: str) -> None:
    async def turned() -> bool:
        return (await site(service))["status"] == status

    await eventually(turned, f"site {SITE} is {status} in the API")


async def attendance_reaches_the_api(service: Service, value: int) -> None:
    async def arrived() -> bool:
        latest = (await site(service)).get("latest")
        return isinstance(latest, dict) and latest.get("attendance") == value

    await eventually(arrived, f"latest.attendance of {SITE} is {value}")


async def connected(page: Page) -> None:
    await expect(page.locator("#connection")).to_have_attribute(
        "data-phase", "connected", timeout=LIVE_MS
    )
    await expect(page.locator("#connection-state")).to_have_text("Đã kết nối")


async def stored_credential(page: Page) -> dict[str, object] | None:
    stored = await page.evaluate(f"localStorage.getItem('{CREDENTIAL_KEY}')")
    return json.loads(stored) if stored else None


async def with_stored_secret(page: Page, service: Service, secret: str) -> None:
    """As if the page had enrolled before: the credential in localStorage, then /agent."""
    await page.goto(f"{service.base}/healthz")  # the service's origin, without the page
    credential = {"site_code": SITE, "site_name": SITE_NAME, "secret": secret, "ice_servers": []}
    await page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [CREDENTIAL_KEY, json.dumps(credential)],
    )
    await page.goto(f"{service.base}/agent")


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The screenshots' folder: temporary, or $BRIDGEWATCH_TEST_ARTIFACTS to keep them."""
    return artifacts_folder(tmp_path_factory)


async def test_a_site_joins_by_its_link_reloads_without_one_and_the_link_works_once(
    settings: Settings,
    seeded: SessionMaker,
    auth: Headers,
    browser: Browser,
    artifacts: Path,
) -> None:
    async with monitor(settings) as service:
        link = await agent_link(service, auth[Role.OPERATOR])
        async with profile(browser, service.base) as (first, page):
            await page.goto(link)
            await connected(page)
            await site_turns(service, "up")
            credential = await stored_credential(page)
            assert credential is not None and credential["site_code"] == SITE
            secret = str(credential["secret"])
            # Nothing of the code or the secret stays in the address bar.
            assert page.url == f"{service.base}/agent"
            assert await page.evaluate("location.href") == f"{service.base}/agent"
            await expect(page.locator("#site-name")).to_have_text(SITE_NAME)
            verdict = page.locator("#verdict")
            await expect(verdict).to_have_attribute("data-status", "up", timeout=LIVE_MS)
            await expect(page.locator("#verdict-status")).to_have_text("Tốt")
            await expect(page.locator("#fact-rtt")).to_have_text(re.compile(r"^\d+ ms$"))
            await expect(page.locator("#fact-loss")).to_have_text(re.compile(r"^\d+\.\d %$"))
            await expect(page.locator("#fact-contact")).to_have_text(
                re.compile(r"^\d\d:\d\d:\d\d \(\d+ giây trước\)$")
            )
            await expect(page.locator("#help")).to_have_attribute("data-trouble", "false")
            fits = await page.evaluate(
                "document.documentElement.scrollHeight <= innerHeight && "
                "document.documentElement.scrollWidth <= innerWidth"
            )
            assert fits, "the connected page must fit a 1366 x 768 laptop screen without scrolling"
            shot = artifacts / "agent-connected-1366x768.png"
            await page.screenshot(path=str(shot))

            await page.evaluate("window.keptAlive = true")
            await page.reload()  # the bookmark: /agent, with no link
            assert await page.evaluate("window.keptAlive") is None
            await connected(page)
            await expect(page.locator("#site-name")).to_have_text(SITE_NAME)
            await site_turns(service, "up")
            assert (await stored_credential(page) or {}).get("secret") == secret

            async with profile(browser, service.base) as (_, other):
                await other.goto(link)  # the same link, on another computer
                notice = other.locator("#notice")
                await expect(notice).to_be_visible()
                await expect(notice.locator("#notice-title")).to_have_text(
                    "Không dùng được liên kết này"
                )
                await expect(notice.locator("#notice-text")).to_have_text(
                    re.compile(r"^Liên kết này đã được dùng lúc \d\d:\d\d ngày \d\d/\d\d/\d{4}\.")
                )
                await expect(notice.locator("#notice-more")).to_contain_text("liên kết mới")
                await other.screenshot(path=str(artifacts / "agent-used.png"))
                await expect(other.locator("#console")).to_be_hidden()
                assert other.url == f"{service.base}/agent"
                assert await stored_credential(other) is None
                assert await other.evaluate("window.sentReports.length") == 0
            await connected(page)  # the first computer was not disturbed

            await first.close()  # the technician closes the page
            await site_turns(service, "down")


async def test_attendance_typed_in_the_page_reaches_the_api_and_a_bad_entry_is_not_sent(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    async with monitor(settings) as service, profile(browser, service.base) as (_, page):
        await with_stored_secret(page, service, secret)
        await connected(page)
        field = page.locator("#attendance-input")
        error = page.locator("#attendance-error")
        state = page.locator("#attendance-state")
        await expect(state).to_have_text("Nhập số nguyên từ 0 đến 100.000 rồi bấm Gửi.")

        await field.fill("25")
        await field.press("Enter")
        await expect(state).to_have_text(re.compile(r"^Đã gửi 25 đại biểu lúc \d\d:\d\d:\d\d\.$"))
        await attendance_reaches_the_api(service, 25)

        for typed, message in (
            ("-3", "Số đại biểu không thể là số âm."),
            ("abc", "«abc» không phải là số nguyên: chỉ nhập chữ số, ví dụ 25."),
            ("12.5", "«12.5» không phải là số nguyên: chỉ nhập chữ số, ví dụ 25."),
            ("1000000", "Số 1000000 quá lớn: nhiều nhất là 100.000 đại biểu."),
            ("", "Hãy nhập số đại biểu có mặt."),
        ):
            await field.fill(typed)
            await page.locator("#attendance-submit").click()
            await expect(error).to_have_text(message)
            await expect(field).to_have_attribute("aria-invalid", "true")
            await expect(state).to_contain_text("25 đại biểu")  # still the last good one
        stored = await page.evaluate("localStorage.getItem('bw.agent.attendance')")
        assert json.loads(stored)["value"] == 25

        await field.fill("30")
        await field.press("Enter")
        await expect(error).to_be_hidden()
        await attendance_reaches_the_api(service, 30)
        reports = await page.evaluate("window.sentReports")
        told = {report["attendance"] for report in reports if "attendance" in report}
        assert told == {25, 30}, reports  # never -3, 1000000 or anything else refused
        assert all(report["version"].startswith("bridgewatch-web-agent/") for report in reports)

        await page.reload()  # kept in the browser, and reported again by the new session
        await expect(field).to_have_value("30")
        await connected(page)

        async def reported_again() -> bool:
            sent: list[int] = await page.evaluate("window.sentReports.map((r) => r.attendance)")
            return sent == [30] or 30 in sent

        await eventually(reported_again, "the new session reports the kept attendance")


async def test_the_page_reads_vietnamese_by_default_and_english_on_the_switch(
    settings: Settings,
    seeded: SessionMaker,
    browser: Browser,
    artifacts: Path,
) -> None:
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    async with monitor(settings) as service, profile(browser, service.base) as (_, page):
        await with_stored_secret(page, service, secret)
        await connected(page)
        await expect(page.locator("#verdict")).to_have_attribute(
            "data-status", "up", timeout=LIVE_MS
        )
        await expect(page.locator("html")).to_have_attribute("lang", "vi")
        screen = await page.locator("main").inner_text()
        header = await page.locator(".brand, .site").all_inner_texts()
        footer = await page.locator("footer").inner_text()
        vietnamese = "\n".join([screen, *header, footer])
        assert not ENGLISH.findall(vietnamese), (ENGLISH.findall(vietnamese), vietnamese)
        assert not KEY_SHOWN.search(vietnamese), vietnamese
        assert "Số đại biểu có mặt" in vietnamese and "Máy tính điểm cầu" in vietnamese

        switch = page.locator("#lang-switch")
        await expect(switch).to_have_text("English")
        await switch.click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(switch).to_have_text("Tiếng Việt")
        await expect(page.locator("#connection-state")).to_have_text("Connected")
        await expect(page.locator("#verdict-status")).to_have_text("Good")
        await expect(page.locator("#attendance-label")).to_have_text("Delegates present")
        await expect(page.locator("#fact-contact")).to_have_text(
            re.compile(r"^\d\d:\d\d:\d\d \(\d+ (s|min) ago\)$")
        )
        english = await page.locator("main").inner_text()
        assert not VIETNAMESE_LETTERS.search(english.lower()), english
        assert not KEY_SHOWN.search(english), english

        await page.reload()  # the choice is remembered
        await expect(page.locator("#attendance-label")).to_have_text("Delegates present")
        keys = await page.evaluate(
            """async () => {
                const { catalogues } = await import('/static/agent/i18n.js');
                return [Object.keys(catalogues.vi).sort(), Object.keys(catalogues.en).sort()];
            }"""
        )
        assert keys[0] == keys[1]

        await page.set_viewport_size(PHONE)  # also read on a phone: nothing sticks out
        await switch.click()
        await expect(page.locator("#connection-state")).to_have_text("Đã kết nối")
        width = await page.evaluate("document.documentElement.scrollWidth")
        await page.screenshot(path=str(artifacts / "agent-phone.png"))
        assert width <= PHONE["width"]


async def test_the_page_says_what_to_do_while_the_monitor_is_away_and_comes_back_by_itself(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    port = free_port()
    async with profile(browser, f"http://127.0.0.1:{port}") as (context, page):
        async with monitor(settings, port) as service:
            await with_stored_secret(page, service, secret)
            await connected(page)
            await expect(page.locator("#verdict")).to_have_attribute(
                "data-status", "up", timeout=LIVE_MS
            )
            await page.evaluate("window.keptAlive = true")
        # The monitor is gone: the page says so, and what to check.
        connection = page.locator("#connection")
        await expect(connection).to_have_attribute("data-phase", "waiting", timeout=LIVE_MS)
        await expect(page.locator("#connection-state")).to_have_text("Chưa kết nối")
        await expect(page.locator("#connection-why")).to_have_text(
            "Không liên lạc được máy chủ giám sát."
        )
        await expect(page.locator("#connection-countdown")).to_have_text(
            re.compile(r"^Tự thử lại sau \d+ giây\.$")
        )
        await expect(page.locator("#verdict-updated")).to_have_text(
            re.compile(r"^Không hỏi được máy chủ từ \d\d:\d\d:\d\d: kết quả trên có thể đã cũ\.$")
        )
        advice = page.locator("#help")
        await expect(advice).to_have_attribute("data-trouble", "true")
        await expect(advice.locator("#help-title")).to_have_text("Nếu không kết nối được")
        await expect(advice.locator("li").first).to_contain_text("dây mạng hoặc Wi-Fi")

        await context.set_offline(True)  # the PC's network drops too
        await expect(page.locator("#connection-state")).to_have_text("Máy tính đang mất mạng")
        async with monitor(settings, port):  # back on the same address
            await context.set_offline(False)  # and the network returns
            await connected(page)
            await expect(advice).to_have_attribute("data-trouble", "false", timeout=LIVE_MS)
            await expect(page.locator("#verdict-updated")).to_have_text(
                re.compile(r"^Cập nhật lúc ")
            )
            assert await page.evaluate("window.keptAlive") is True  # by itself, no reload


async def test_a_second_tab_waits_and_takes_over_when_the_first_closes(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    """Two tabs dialling as one site would displace each other's session for ever."""
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    async with monitor(settings) as service, profile(browser, service.base) as (context, first):
        await with_stored_secret(first, service, secret)
        await connected(first)
        second = await context.new_page()
        await second.goto(f"{service.base}/agent")  # the bookmark, opened twice
        await expect(second.locator("#notice-title")).to_have_text(
            "Trang này đang mở ở một thẻ khác"
        )
        await expect(second.locator("#console")).to_be_hidden()
        assert await second.evaluate("window.sentReports.length") == 0
        await first.close()
        await connected(second)
        await expect(second.locator("#notice")).to_be_hidden()
        await site_turns(service, "up")


async def test_a_secret_the_server_no_longer_accepts_is_forgotten_and_the_page_says_so(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    async with monitor(settings) as service, profile(browser, service.base) as (_, page):
        await with_stored_secret(page, service, secret)
        await connected(page)
        await give_agent(seeded, SITE, None, ProbeMode.PUSH)  # enrolled on another PC

        notice = page.locator("#notice")
        await expect(notice).to_be_visible(timeout=LIVE_MS)
        await expect(notice.locator("#notice-title")).to_have_text(
            "Máy này không còn được giám sát"
        )
        await expect(notice.locator("#notice-more")).to_have_text(
            "Hãy xin cán bộ kỹ thuật của tỉnh một liên kết mới."
        )
        await expect(page.locator("#console")).to_be_hidden()
        assert await stored_credential(page) is None
        await page.reload()  # nothing left to dial with: the page asks for a link
        await expect(page.locator("#welcome")).to_be_visible()


async def test_links_that_cannot_be_used_are_explained_and_start_nothing(
    settings: Settings, seeded: SessionMaker, auth: Headers, browser: Browser
) -> None:
    async with monitor(settings) as service:
        expired = await agent_link(service, auth[Role.OPERATOR])
        async with seeded() as session:
            await session.execute(
                update(AgentEnrolment).values(expires_at=utcnow() - timedelta(minutes=5))
            )
            await session.commit()
        cases = [
            (expired, r"^Liên kết này đã hết hạn lúc \d\d:\d\d ngày \d\d/\d\d/\d{4}\.$"),
            (f"{service.base}/agent#enrol=bwe_nobody-has-this-code", "^Máy chủ không nhận ra"),
            (f"{service.base}/agent#enrol=", "^Liên kết bị thiếu hoặc sai ký tự"),
            (f"{service.base}/agent#enrol=bwe_a%20b", "^Liên kết bị thiếu hoặc sai ký tự"),
        ]
        for link, message in cases:
            async with profile(browser, service.base) as (_, page):
                await page.goto(link)
                await expect(page.locator("#notice-text")).to_have_text(re.compile(message))
                await expect(page.locator("#console")).to_be_hidden()
                assert page.url == f"{service.base}/agent"
                assert await stored_credential(page) is None
        assert (await site(service))["probe_mode"] == "pull"  # no link put it in push mode


async def test_the_page_is_served_under_the_strict_policy_with_no_inline_code(
    settings: Settings, seeded: SessionMaker
) -> None:
    async with serve(create_app(settings)) as service, httpx.AsyncClient() as client:
        response = await client.get(f"{service.base}/agent")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["referrer-policy"] == "no-referrer"
    page = (STATIC / "agent.html").read_text()
    assert response.text == page
    assert re.findall(r"<script\b[^>]*>", page) == [
        '<script type="module" src="/static/agent/main.js">'
    ]
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\bon[a-z]+=", page), "no inline event handlers"
    for path in (STATIC / "agent").rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "http://" not in text and "https://" not in text, path


async def test_a_page_of_a_disabled_then_deleted_site_says_so_and_sends_nothing(
    settings: Settings, seeded: SessionMaker, auth: Headers, browser: Browser
) -> None:
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    async with monitor(settings) as service, profile(browser, service.base) as (_, page):
        async with httpx.AsyncClient(
            base_url=service.base, headers=auth[Role.OPERATOR], timeout=10
        ) as api:
            response = await api.patch(f"/api/v1/sites/{SITE}", json={"enabled": False})
            assert response.status_code == 200, response.text
            # The page opened for a site under maintenance: it says why it cannot dial.
            await with_stored_secret(page, service, secret)
            await expect(page.locator("#connection-why")).to_have_text(
                "Máy chủ đang tạm dừng giám sát điểm cầu này (bảo trì).", timeout=LIVE_MS
            )
            offer = await api.post(
                f"/api/v1/agents/{SITE}/sessions",
                content=b"v=0\r\n",
                headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/sdp"},
            )
            assert offer.status_code == 409 and "disabled" in offer.json()["detail"]
            assert (await site(service))["status"] == "paused"

            response = await api.delete(f"/api/v1/sites/{SITE}")
            assert response.status_code == 204, response.text
            # Deleted: its secret went with it. The page forgets it and asks for a new link.
            await expect(page.locator("#notice-title")).to_have_text(
                "Máy này không còn được giám sát", timeout=LIVE_MS
            )
            assert await stored_credential(page) is None
            status = await api.get(
                f"/api/v1/agents/{SITE}/status", headers={"Authorization": f"Bearer {secret}"}
            )
            assert status.status_code == 401 and status.json()["detail"]
        assert await page.evaluate("window.sentReports.length") == 0


async def test_a_page_whose_scripts_stop_as_on_a_sleeping_pc_dials_again_when_they_run(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    secret = await give_agent(seeded, SITE, None, ProbeMode.PUSH)
    async with monitor(settings) as service, profile(browser, service.base) as (context, page):
        await with_stored_secret(page, service, secret)
        await connected(page)
        await site_turns(service, "up")
        await page.evaluate("window.keptAlive = true")
        # What a PC's sleep does to a page: its scripts stop, so no ping is answered.
        cdp = await context.new_cdp_session(page)
        await cdp.send("Debugger.enable")
        await cdp.send("Debugger.pause")
        await site_turns(service, "down")
        await cdp.send("Debugger.resume")
        await site_turns(service, "up")  # by itself, no reload
        await connected(page)
        assert await page.evaluate("window.keptAlive") is True
