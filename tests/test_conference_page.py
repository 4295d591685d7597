"""The conference day in the browser, in real Chromium against the real service and a seeded
database: the readiness board before the start (not ready first, why in Vietnamese, whom to
call), an operator starting, typing attendance and ending the conference, the list that leads
there from the dashboard, the printable report that a browser saves as an A4 PDF, and an
operator's re-checks on the readiness board (with the real engine and a real agent).

Conference data comes through the REST API; site statuses and contacts through SQL, as the
monitor would have left them (no probe engine). Each page runs in a browser profile of its own,
at a time zone other than the hall's (times must be the hall's all the same), and fails its test
on a script error, a request leaving the service's origin or a Content-Security-Policy violation.
What is asserted is what a user sees, never how fast it came.
"""

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from playwright.async_api import ViewportSize as Viewport
from sqlalchemy import update

from app.dashboard import CSP, STATIC
from app.main import create_app
from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.settings import Settings
from models.site import Site, SiteStatus
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.browser import HALL_TIME_ZONE, PHONE, WALL, Service, artifacts_folder, serve
from tests.databases import SQLITE_ONLY
from tests.probing import fast, give_agent, serving
from tests.service import free_port
from tests.test_agent_page import Watch
from tests.test_conference_report import END, START, _history
from tests.test_full_checks import AWAY, FAST_CHECKS, UP, up_for_a_while

pytestmark = SQLITE_ONLY

Headers = dict[Role, dict[str, str]]
PAGE_MS = 20_000
ABROAD = "Europe/Paris"  # the screen's own zone: the page must show the hall's times anyway
HALL = ZoneInfo(HALL_TIME_ZONE)
PAGES = ("conference.html", "conferences.html", "conference-report.html")
# The sites of the readiness board, as the monitor left them.
PHONE_NUMBER = "0912 345 678"


@pytest.fixture
async def service(settings: Settings, seeded: SessionMaker) -> AsyncIterator[Service]:
    async with serve(create_app(settings)) as running:
        yield running


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifacts_folder(tmp_path_factory)


@contextlib.asynccontextmanager
async def opened(
    browser: Browser, service: Service, headers: dict[str, str] | None, viewport: Viewport = WALL
) -> AsyncIterator[Page]:
    """A fresh, watched profile abroad, signed in with the token of `headers` (if any)."""
    context = await browser.new_context(viewport=viewport, timezone_id=ABROAD)
    context.set_default_timeout(PAGE_MS)
    if headers is not None:
        token = headers["Authorization"].removeprefix("Bearer ")
        await context.add_init_script(
            f"if (location.origin === {service.base!r}) localStorage.setItem('bw.token', {token!r})"
        )
    watch = Watch(service.base)
    context.on("request", watch.request)
    context.on("console", watch.console)
    context.on("weberror", lambda error: watch.errors.append(str(error.error)))
    try:
        yield await context.new_page()
    finally:
        await context.close()
    watch.check()


async def plan(service: Service, admin: dict[str, str], body: dict[str, object]) -> int:
    async with httpx.AsyncClient(base_url=service.base, headers=admin, timeout=10) as api:
        created = await api.post("/api/v1/conferences", json=body)
    assert created.status_code == 201, created.text
    conference_id: int = created.json()["id"]
    return conference_id


async def set_sites(seeded: SessionMaker, states: dict[str, dict[str, object]]) -> None:
    async with seeded() as session:
        for code, values in states.items():
            await session.execute(update(Site).where(Site.code == code).values(**values))
        await session.commit()


def hall_clock(at: datetime) -> str:
    return at.astimezone(HALL).strftime("%H:%M")


async def test_the_readiness_board_before_the_start(
    browser: Browser, service: Service, auth: Headers, seeded: SessionMaker, artifacts: Path
) -> None:
    now = utcnow()
    seen = {"last_seen_at": now}
    await set_sites(
        seeded,
        {
            "01267": {
                "status": SiteStatus.UP,
                "status_since": now - timedelta(minutes=20),
                "full_check_at": now - timedelta(minutes=2),
                "full_check_passed": True,
                **seen,
            },
            "01273": {
                "status": SiteStatus.DEGRADED,
                "status_since": now - timedelta(minutes=3),
                "status_reason": "no picture (black)",
                **seen,
            },
            "01654": {"status": SiteStatus.UNKNOWN, "status_since": now - timedelta(hours=2)},
            "01657": {
                "status": SiteStatus.DOWN,
                "status_since": now - timedelta(minutes=12),
                "status_reason": "3 heartbeats missed",
                "contact_name": "Nông Văn Dũng",
                "contact_phone": PHONE_NUMBER,
                **seen,
            },
        },
    )
    conference = await plan(
        service,
        auth[Role.ADMIN],
        {
            "title": "Hội nghị tổng kết năm 2026 tỉnh Cao Bằng",
            "starts_at": (now + timedelta(minutes=50)).isoformat(),
            "ends_at": (now + timedelta(hours=3)).isoformat(),
            "sites": [
                {"site_code": c, "expected_delegates": 20}
                for c in ("01267", "01273", "01654", "01657")
            ],
        },
    )
    url = f"{service.base}/conference?id={conference}"
    async with opened(browser, service, auth[Role.VIEWER]) as page:
        await page.goto(url)
        board = page.locator("#readiness")
        await expect(board.locator(".ready-count")).to_have_text("Sẵn sàng 1/4")
        await expect(page.locator("#phase")).to_have_text("Kiểm tra trước giờ họp")
        await expect(page.locator("#countdown")).to_have_text(
            re.compile(r"^Bắt đầu sau 0:[45]\d:\d\d$")
        )
        when = await page.locator(".conf-when").inner_text()
        rows = board.locator("tbody tr")
        await expect(rows).to_have_count(4)
        codes = await rows.evaluate_all("rows => rows.map((r) => r.dataset.site)")
        states = await rows.locator(".state .reason").all_inner_texts()
        lasted = await rows.nth(1).locator(".for").inner_text()
        tel = rows.nth(1).locator("a.tel")
        tel_href, tel_text = await tel.get_attribute("href"), await tel.inner_text()
        contact = await rows.nth(1).locator(".contact").inner_text()
        districts = await board.locator(".ready-districts li").evaluate_all(
            "items => items.map((li) => [li.dataset.district,"
            " li.querySelector('.district-count').textContent])"
        )
        district_names = await board.locator(".district-name").all_inner_texts()
        operator_shown = await page.locator("#operator").is_visible()
        await page.screenshot(path=str(artifacts / "conference-preflight-wall.png"))

        await page.locator("#lang-switch").click()
        await expect(board.locator(".ready-count")).to_have_text("Ready 1/4")
        english = await rows.locator(".state .reason").all_inner_texts()
        await page.locator("#lang-switch").click()
        await expect(board.locator(".ready-count")).to_have_text("Sẵn sàng 1/4")

    async with opened(browser, service, auth[Role.VIEWER], PHONE) as phone:
        await phone.goto(url)
        await expect(phone.locator("#readiness .ready-count")).to_have_text("Sẵn sàng 1/4")
        await expect(phone.locator("#readiness a.tel")).to_be_visible()
        overflow = await phone.evaluate("document.documentElement.scrollWidth - innerWidth")
        await phone.screenshot(
            path=str(artifacts / "conference-preflight-phone.png"), full_page=True
        )

    # Not ready first, the longest so first; the ready one last.
    assert codes == ["01654", "01657", "01273", "01267"]
    assert states == [
        "Chưa kết nối lần nào",
        "Mất kết nối: 3 nhịp kiểm tra liên tiếp không được trả lời",
        "Suy giảm: Không có hình (màn hình đen)",
        "Sẵn sàng",
    ]
    assert english[1] == "Down: 3 heartbeats in a row unanswered"
    assert english[2] == "Degraded: No picture (black)"
    assert lasted == "đã 12 phút"
    assert (tel_href, tel_text) == ("tel:0912345678", PHONE_NUMBER)
    assert "Nông Văn Dũng" in contact
    assert sorted(districts) == [["040", "1/2"], ["051", "0/2"]]
    assert "Huyện Hòa An" in district_names
    # The hall's times, though the screen's clock is in Paris.
    starts, ends = now + timedelta(minutes=50), now + timedelta(hours=3)
    assert f"{hall_clock(starts)}\N{EN DASH}{hall_clock(ends)}" in when
    assert not operator_shown  # a viewer's screen offers nothing it would be refused
    assert overflow <= 0  # nothing wider than the phone


async def test_an_operator_starts_enters_attendance_and_ends_the_conference(
    browser: Browser, service: Service, auth: Headers, artifacts: Path
) -> None:
    now = utcnow()
    conference = await plan(
        service,
        auth[Role.ADMIN],
        {
            "title": "Hội nghị trực tuyến",
            "starts_at": (now + timedelta(minutes=30)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
            "sites": [
                {"site_code": "01267", "expected_delegates": 20},
                {"site_code": "01273", "expected_delegates": 15},
                {"site_code": "01654", "expected_delegates": 10},
            ],
        },
    )
    async with opened(browser, service, auth[Role.OPERATOR]) as page:
        await page.goto(f"{service.base}/conference?id={conference}")
        await expect(page.locator("#phase")).to_have_text("Kiểm tra trước giờ họp")
        await page.locator("#op-start").click()
        confirm = page.locator("#confirm")
        await expect(confirm).to_be_visible()
        await confirm.locator("button[value=no]").click()  # thought better of it: nothing done
        await expect(page.locator("#phase")).to_have_text("Kiểm tra trước giờ họp")
        await page.locator("#op-start").click()
        await confirm.locator("button[value=yes]").click()
        await expect(page.locator("#phase")).to_have_text("Đang họp")
        await expect(page.locator("#countdown")).to_have_text(
            re.compile(r"^Kết thúc sau 1:[45]\d:\d\d$")
        )
        live = page.locator("#live")
        await expect(live.locator(".live-present")).to_have_text("0/45")
        await expect(live.locator(".live-silent li")).to_have_count(3)

        await page.locator("#op-site").select_option("01267")
        await page.locator("#op-present").fill("18")
        await page.locator("#op-attendance button[type=submit]").click()
        await expect(live.locator(".live-present")).to_have_text("18/45")
        city = live.locator('.live-districts tr[data-district="040"] .present')
        await expect(city).to_have_text("18/35")
        # A number from elsewhere (another operator, the site's agent) shows by itself.
        async with httpx.AsyncClient(base_url=service.base, timeout=10) as api:
            entered = await api.put(
                "/api/v1/sites/01654/attendance", json={"present": 9}, headers=auth[Role.OPERATOR]
            )
        assert entered.status_code == 200
        # (by the page's next refresh, within a few seconds)
        await expect(live.locator(".live-present")).to_have_text("27/45", timeout=PAGE_MS)
        await expect(live.locator('.live-sites tr[data-site="01654"] .present')).to_have_text(
            "9/10"
        )
        await expect(live.locator(".live-silent li")).to_have_text(["Phường Hợp Giang"])
        await expect(live.locator(".live-reported")).to_have_text("2/3")
        await page.screenshot(path=str(artifacts / "conference-live-wall.png"))

        await page.locator("#op-end").click()
        await confirm.locator("button[value=yes]").click()
        await expect(page.locator("#phase")).to_have_text("Đã kết thúc")
        ended = page.locator("#ended")
        await expect(ended.locator('[data-fact="present"] dd')).to_have_text("27/45")
        report_href = await ended.locator("a.ended-report").get_attribute("href")
        countdown = await page.locator("#countdown").inner_text()
        operator_shown = await page.locator("#operator").is_visible()
        await page.screenshot(path=str(artifacts / "conference-ended-wall.png"))

    async with httpx.AsyncClient(base_url=service.base, timeout=10) as api:
        body = (
            await api.get(f"/api/v1/conferences/{conference}", headers=auth[Role.VIEWER])
        ).json()
    assert [(a["action"], a["by"]) for a in body["actions"]] == [
        ("start", "test-operator"),
        ("end", "test-operator"),
    ]
    assert body["phase"] == "ended"
    assert report_href == f"/conference/report?id={conference}"
    assert countdown == "" and not operator_shown


# Every change of the phase the page shows, kept for the test to read.
RECORD_PHASES_JS = """() => {
  window.phasesSeen = [];
  const phase = document.getElementById('phase');
  const note = () => {
    const text = phase.textContent;
    if (text && window.phasesSeen.at(-1) !== text) window.phasesSeen.push(text);
  };
  note();
  const watched = { childList: true, characterData: true, subtree: true };
  new MutationObserver(note).observe(phase, watched);
}"""


async def test_a_wall_screen_signs_in_once_follows_the_clock_and_rides_out_an_outage(
    browser: Browser, settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    now = utcnow()
    port = free_port()
    async with serve(create_app(settings), port) as service:
        admin = auth[Role.ADMIN]
        site = [{"site_code": "01267", "expected_delegates": 12}]
        # A short schedule: live a few seconds from now, ended a few seconds later.
        short = await plan(
            service,
            admin,
            {
                "title": "Phiên thử",
                "starts_at": (now + timedelta(seconds=4)).isoformat(),
                "ends_at": (now + timedelta(seconds=8)).isoformat(),
                "sites": site,
            },
        )
        long = await plan(
            service,
            admin,
            {
                "title": "Hội nghị trực tuyến",
                "starts_at": (now - timedelta(minutes=5)).isoformat(),
                "ends_at": (now + timedelta(hours=2)).isoformat(),
                "sites": site,
            },
        )
        async with opened(browser, service, None) as page:
            await page.goto(f"{service.base}/conference?id={short}")
            dialog = page.locator("#token-dialog")
            await expect(dialog).to_be_visible()
            await expect(page.locator("#message")).to_have_text(
                "Cần đăng nhập: bấm “Đăng nhập” và nhập mã truy cập."
            )
            token = auth[Role.VIEWER]["Authorization"].removeprefix("Bearer ")
            await page.locator("#token-input").fill(token)
            await page.locator("#token-form button[type=submit]").click()
            await expect(page.locator("#conf-title")).to_have_text("Phiên thử")
            await page.evaluate(RECORD_PHASES_JS)
            # Nobody touches the page from here on.
            await expect(page.locator("#phase")).to_have_text("Đã kết thúc", timeout=PAGE_MS)
            await expect(page.locator("#ended")).to_be_visible()
            seen = await page.evaluate("window.phasesSeen")

            await page.goto(f"{service.base}/conference?id={long}")  # signed in: remembered
            await expect(page.locator("#live .live-present")).to_have_text("0/12")
            await service.stop()
            await expect(page.locator("#message")).to_contain_text(
                "Mất liên lạc với máy chủ", timeout=PAGE_MS
            )
            figures = await page.locator("#live .live-present").inner_text()
            async with serve(create_app(settings), port):
                await expect(page.locator("#message")).to_be_hidden(timeout=PAGE_MS)
                await expect(page.locator("#phase")).to_have_text("Đang họp")
    assert seen[-2:] == ["Đang họp", "Đã kết thúc"]
    assert figures == "0/12"  # the last figures stay while the service is away


async def test_the_list_from_the_dashboard_puts_the_live_conference_first(
    browser: Browser, service: Service, auth: Headers
) -> None:
    now = utcnow()
    admin = auth[Role.ADMIN]
    titles = {
        "ended": (now - timedelta(hours=5), now - timedelta(hours=3)),
        "tomorrow": (now + timedelta(days=1), now + timedelta(days=1, hours=2)),
        "live": (now - timedelta(minutes=10), now + timedelta(hours=1)),
        "soon": (now + timedelta(minutes=20), now + timedelta(hours=2)),
    }
    ids = {
        title: await plan(
            service,
            admin,
            {
                "title": title,
                "starts_at": start.isoformat(),
                "ends_at": end.isoformat(),
                "sites": [{"site_code": "01267"}],
            },
        )
        for title, (start, end) in titles.items()
    }
    async with opened(browser, service, auth[Role.VIEWER]) as page:
        await page.goto(service.base)
        link = page.locator("#conferences-link")
        await expect(link).to_have_text("Hội nghị")
        await link.click()
        await expect(page).to_have_url(f"{service.base}/conferences")
        items = page.locator("#conferences li")
        await expect(items).to_have_count(4)
        shown = await items.locator(".list-title").all_inner_texts()
        phases = await items.locator(".list-phase").all_inner_texts()
        await items.first.locator(".list-title").click()
        await expect(page).to_have_url(f"{service.base}/conference?id={ids['live']}")
        await expect(page.locator("#phase")).to_have_text("Đang họp")
    assert shown == ["live", "soon", "tomorrow", "ended"]
    assert phases == ["Đang họp", "Kiểm tra trước giờ họp", "Chưa bắt đầu", "Đã kết thúc"]


async def test_the_printable_report_has_a_table_per_district_and_prints_on_a4(
    browser: Browser,
    service: Service,
    auth: Headers,
    seeded: SessionMaker,
    artifacts: Path,
    tmp_path: Path,
) -> None:
    await _history(seeded)  # 01267 down 6.5 min, 01273 degraded 10 min, 01654 down 5 min
    title = "Hội nghị trực tuyến tỉnh Cao Bằng"
    conference = await plan(
        service,
        auth[Role.ADMIN],
        {
            "title": title,
            "starts_at": START.isoformat(),
            "ends_at": END.isoformat(),
            "sites": [
                {"site_code": "01267", "expected_delegates": 25},
                {"site_code": "01273", "expected_delegates": 30},
                {"site_code": "01654", "expected_delegates": 20},
            ],
        },
    )
    async with opened(browser, service, auth[Role.VIEWER]) as page:
        await page.goto(f"{service.base}/conference/report?id={conference}")
        await expect(page.locator("#report-title")).to_have_text(title)
        date = await page.locator("#report-date").inner_text()
        state = await page.locator("#report-state").inner_text()
        sections = page.locator("#districts section")
        await expect(sections).to_have_count(2)
        headings = await sections.locator("h2").all_inner_texts()
        city_rows = (
            await sections.nth(0)
            .locator("tbody tr")
            .evaluate_all("rows => rows.map((r) => [...r.cells].map((c) => c.textContent.trim()))")
        )
        present = await page.locator('#totals tr[data-fact="present"] td').inner_text()
        ready = await page.locator('#totals tr[data-fact="readyAtStart"] td').inner_text()
        incidents = await sections.locator(".incidents li").all_inner_texts()
        csv_href = await page.locator("#csv").get_attribute("href")
        async with page.expect_download() as downloading:
            await page.locator("#csv").click()
        saved = tmp_path / "report.csv"
        await (await downloading.value).save_as(saved)
        await page.screenshot(path=str(artifacts / "conference-report.png"), full_page=True)
        pdf = await page.pdf(prefer_css_page_size=True)
        # The printed page as a picture, for a person to look at: A4's width at 96 dpi.
        await page.emulate_media(media="print")
        await page.set_viewport_size({"width": 794, "height": 1123})
        await page.screenshot(path=str(artifacts / "conference-report-print.png"), full_page=True)
    (artifacts / "conference-report.pdf").write_bytes(pdf)

    assert date == "Thứ Ba, 1 tháng 12, 2026"  # 08:00 in the hall
    assert state == "Số liệu chính thức: hội nghị đã kết thúc."
    assert headings == ["Thành phố Cao Bằng", "Huyện Hòa An"]  # most downtime first
    assert [row[0] for row in city_rows] == ["Phường Sông Hiến 01267", "Phường Hợp Giang 01273"]
    song_hien = city_rows[0]
    assert song_hien[1] == "Có"  # up for half an hour when it went live
    assert song_hien[4] == "6 phút"  # 390 s down
    assert song_hien[5] == "0 giây"  # no maintenance window: planned time is apart
    assert song_hien[6] == "94.6 %"
    assert song_hien[7] == "1" and song_hien[8] == "400 ms" and song_hien[-1] == "23/25"
    assert present == "23/75"
    assert ready == "1/3"  # Nước Hai was down at the start, Hợp Giang's check saw no picture
    assert incidents == [  # per district, the longest first, in the hall's time
        "Phường Hợp Giang: Suy giảm 09:00\N{EN DASH}09:10 (10 phút trong giờ họp)",
        "Phường Sông Hiến: Mất kết nối 08:10\N{EN DASH}08:16 (6 phút trong giờ họp)",
        "Thị trấn Nước Hai: Mất kết nối 07:55\N{EN DASH}08:05 (5 phút trong giờ họp)",
    ]
    assert csv_href == f"/api/v1/conferences/{conference}/report?format=csv"
    assert saved.read_bytes().startswith("\ufeff".encode())  # the API's CSV, for Excel
    assert "Phường Sông Hiến" in saved.read_text(encoding="utf-8-sig")
    # An A4 PDF (595 x 842 points) with pages, the Vietnamese title as its own.
    assert pdf.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(round(float(w)) == 595 and round(float(h)) == 842 for w, h in boxes)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1
    assert title_of(pdf).startswith(title)


def title_of(pdf: bytes) -> str:
    """The PDF's /Title (Chromium writes it as UTF-16BE in hex or as a literal string)."""
    found = re.search(rb"/Title\s*(<[0-9A-Fa-f]+>|\((?:\\.|[^\\)])*\))", pdf)
    assert found, "the PDF has no title"
    raw = found.group(1)
    if raw.startswith(b"<"):
        data = bytes.fromhex(raw[1:-1].decode())
    else:
        data = re.sub(rb"\\(.)", rb"\1", raw[1:-1])
    return data.decode("utf-16") if data.startswith(b"\xfe\xff") else data.decode("latin-1")


async def test_the_pages_are_served_under_the_strict_policy_with_both_languages_complete(
    service: Service,
) -> None:
    async with httpx.AsyncClient(base_url=service.base, timeout=10) as client:
        for path, page in zip(
            ("/conference?id=1", "/conferences", "/conference/report?id=1"), PAGES, strict=True
        ):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-security-policy"] == CSP
            text = (STATIC / page).read_text()
            assert response.text == text
            assert "<style" not in text and " style=" not in text, page
            assert not re.search(r"\bon[a-z]+=", text), page
            assert all('src="/static/' in s for s in re.findall(r"<script\b[^>]*>", text)), page
    for module in (STATIC / "conference").rglob("*"):
        if module.is_file():
            text = module.read_text()
            assert "http://" not in text and "https://" not in text, module

    def keys(language: str) -> set[str]:
        text = (STATIC / "conference" / "i18n" / f"{language}.js").read_text()
        return set(re.findall(r"^\s*'([\w.]+)':", text, re.MULTILINE))

    assert keys("vi") == keys("en") and len(keys("vi")) > 50


async def test_an_operator_rechecks_a_site_and_every_site_from_the_board(
    browser: Browser, settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    """With the real engine and a real agent: the site that is up gets its full check on its
    own, and a new one (a new time on the board) when the operator asks; "every site" checks the
    site nobody answers at too. A viewer's board has no such buttons."""
    port = free_port()
    agent = SiteAgent(
        UP,
        await give_agent(seeded, UP, f"http://127.0.0.1:{port}/{UP}"),
        rtc_configuration([]),
        lambda: Report(attendance=12, camera="ok", microphone="ok"),
    )
    await give_agent(seeded, AWAY, f"http://127.0.0.1:{free_port()}/{AWAY}")
    await up_for_a_while(seeded, UP)
    async with (
        serving(agent_app({UP: agent}), port),
        serve(create_app(fast(settings, **FAST_CHECKS))) as service,
    ):
        now = utcnow()
        conference = await plan(
            service,
            auth[Role.ADMIN],
            {
                "title": "Hội nghị kiểm tra lại",
                "starts_at": (now + timedelta(minutes=30)).isoformat(),
                "ends_at": (now + timedelta(hours=2)).isoformat(),
                "ready_minutes": 1,
                "sites": [{"site_code": c, "expected_delegates": 10} for c in (UP, AWAY)],
            },
        )
        url = f"{service.base}/conference?id={conference}"
        async with opened(browser, service, auth[Role.OPERATOR]) as page:
            await page.goto(url)
            board = page.locator("#readiness")
            up_row = board.locator(f'tr[data-site="{UP}"]')
            away_row = board.locator(f'tr[data-site="{AWAY}"]')
            # Checked without anyone asking (passed, unless this busy box held the media
            # check's set-up past its timeout: the board then says why).
            checked = up_row.locator(".checked")
            await expect(checked).to_have_text(
                re.compile(r"^Kiểm tra toàn diện (không )?đạt lúc "), timeout=45_000
            )
            if "không đạt" in await checked.inner_text():
                why = await up_row.locator(".state .reason").inner_text()
                assert why.startswith("Kiểm tra toàn diện không đạt: thử hình lỗi"), why
            first = await checked.inner_text()
            await expect(away_row.locator(".checked")).to_have_count(0)  # nobody to check

            await up_row.get_by_role("button", name=re.compile("Kiểm tra lại")).click()
            message = board.locator(".recheck-message")
            await expect(message).to_have_text(re.compile(r"^Đã yêu cầu kiểm tra lại "))
            await expect(checked).not_to_have_text(first, timeout=30_000)  # a new time

            await board.locator(".recheck-all").click()
            await expect(message).to_have_text(
                "Đã yêu cầu kiểm tra lại 2 điểm cầu; kết quả sau vài giây."
            )
            await expect(away_row.locator(".checked")).to_have_text(
                re.compile(r"^Kiểm tra toàn diện không đạt lúc "), timeout=30_000
            )
            await page.locator("#lang-switch").click()
            await expect(board.locator(".recheck-all")).to_have_text("Re-check every site")
            await page.locator("#lang-switch").click()

        async with opened(browser, service, auth[Role.VIEWER]) as page:
            await page.goto(url)
            await expect(page.locator(f'#readiness tr[data-site="{UP}"]')).to_be_visible()
            assert not await page.locator("#readiness .recheck-bar").is_visible()
            assert await page.locator("#readiness td.recheck").count() == 0
    await agent.close()
