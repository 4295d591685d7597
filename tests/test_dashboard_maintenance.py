"""Maintenance on the dashboard, in real Chromium: a site in a window has a status of its own
(shape, name, counter), its panel says until when and why, and an operator plans a one-off
window from the panel; a viewer only reads."""

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, expect
from sqlalchemy import select

from app.main import create_app
from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.maintenance import MaintenanceWindow
from models.settings import Settings
from models.site import Site, SiteStatus
from tests.browser import WALL, counter, serve, tile
from tests.databases import SQLITE_ONLY
from tests.test_dashboard import bearer, counters_match_tiles, opened

pytestmark = SQLITE_ONLY
Headers = dict[Role, dict[str, str]]
NOTE = "Thay cáp quang"
DASH = "\u2013"  # between the start and the end of an occurrence


async def _in_maintenance(sessionmaker: SessionMaker, code: str) -> datetime:
    """The site in a window until an hour from now, as the engine would have marked it."""
    until = utcnow() + timedelta(hours=1)
    async with sessionmaker() as session:
        site = await session.scalar(select(Site).where(Site.code == code))
        assert site is not None
        site.set_status(SiteStatus.MAINTENANCE, f"maintenance: {NOTE}")
        session.add(
            MaintenanceWindow(
                site_id=site.id,
                starts_at=utcnow() - timedelta(minutes=5),
                duration_seconds=3900,
                ends_at=until,
                note=NOTE,
                created_by="test-operator",
            )
        )
        await session.commit()
    return until


async def test_a_site_in_maintenance_shows_it_and_an_operator_plans_a_window(
    settings: Settings, seeded: SessionMaker, browser: Browser, auth: Headers
) -> None:
    await _in_maintenance(seeded, "040")
    operator = auth[Role.OPERATOR]
    async with (
        serve(create_app(settings)) as service,
        opened(browser, WALL, bearer(operator)) as page,
    ):
        await page.goto(service.base)
        city = page.locator(tile(page, "040"))
        await expect(city).to_have_attribute("data-status", "maintenance")
        await expect(city.locator(".tile-icon")).to_have_text("◆")
        await expect(page.locator('svg [data-site="040"]')).to_have_attribute(
            "data-status", "maintenance"
        )
        assert await counter(page, "maintenance") == 1
        await counters_match_tiles(page, up=0)

        await city.click()
        await expect(page.locator("#panel-status")).to_have_text("◆ Bảo trì")
        await expect(page.locator('[data-fact="reason"] dd')).to_have_text(
            f"đang bảo trì theo kế hoạch: {NOTE}"
        )
        summary = page.locator(".maintenance-summary")
        await expect(summary).to_have_text(
            re.compile(rf"^Đang bảo trì đến \d\d/\d\d \d\d:\d\d: {NOTE}$")
        )
        await page.keyboard.press("Escape")

        await page.locator(tile(page, "042")).click()
        await expect(summary).to_have_text("Không có lịch bảo trì")
        form = page.locator(".maintenance-form")
        await form.locator('[name="from"]').fill("2099-01-04T22:00")
        await form.locator('[name="to"]').fill("2099-01-04T21:00")
        await form.locator('button[type="submit"]').click()
        outcome = page.locator(".maintenance-outcome")
        await expect(outcome).to_have_text("the window must end after it starts")
        await form.locator('[name="to"]').fill("2099-01-04T23:30")
        await form.locator('[name="note"]').fill("Nâng cấp bộ mã hóa")
        await form.locator('button[type="submit"]').click()
        await expect(outcome).to_have_text("Đã thêm lịch bảo trì")
        await expect(summary).to_have_text(f"Bảo trì sắp tới: 04/01 22:00 {DASH} 04/01 23:30")

        await page.keyboard.press("Escape")
        await page.locator("#lang-switch").click()
        await page.locator(tile(page, "042")).click()
        await expect(summary).to_have_text(f"Next maintenance: 04/01 22:00 {DASH} 04/01 23:30")

    async with seeded() as session:
        rows = (
            await session.scalars(select(MaintenanceWindow).order_by(MaintenanceWindow.id))
        ).all()
    planned = rows[-1]
    assert len(rows) == 2  # the refused one was not saved
    assert (planned.created_by, planned.note) == ("test-operator", "Nâng cấp bộ mã hóa")
    # Typed at the hall's clock (UTC+7): 22:00 there is 15:00 UTC.
    assert planned.starts_at == datetime(2099, 1, 4, 15, 0, tzinfo=UTC)
    assert planned.duration_seconds == 90 * 60


async def test_a_viewer_reads_the_maintenance_but_cannot_plan_any(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    await _in_maintenance(seeded, "01267")
    async with (
        serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service,
        opened(browser, WALL) as page,
    ):
        await page.goto(service.base)
        await page.locator(tile(page, "01267")).click()
        await expect(page.locator(".maintenance-summary")).to_contain_text(NOTE)
        await expect(page.locator(".maintenance-form")).to_be_hidden()
