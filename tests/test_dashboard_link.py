"""A notification's link to a site, /?site=CODE, opens the dashboard on that site's panel (real
Chromium)."""

from playwright.async_api import Browser, expect

from app.main import create_app
from models.db import SessionMaker
from models.settings import Settings
from monitor.notify.dispatcher import site_link
from tests.browser import WALL, serve
from tests.databases import SQLITE_ONLY
from tests.test_dashboard import opened

pytestmark = SQLITE_ONLY


async def test_a_notification_link_opens_the_sites_panel(
    settings: Settings, seeded: SessionMaker, browser: Browser
) -> None:
    async with (
        serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service,
        opened(browser, WALL) as page,
    ):
        await page.goto(site_link(service.base)("01267"))
        panel = page.locator("#site-panel")
        await expect(panel).to_be_visible()
        await expect(panel.locator("#panel-title")).to_have_text("Phường Sông Hiến")
        await page.goto(site_link(service.base)("no-such-site"))  # no panel, no error
        await expect(page.locator("#tiles .tile").first).to_be_visible()
        await expect(panel).to_be_hidden()
