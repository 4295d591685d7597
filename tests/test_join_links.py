"""Join links in the dashboard, for operators, in real Chromium against the real service: a link
and its QR code in the site panel, revoking the enrolled computer, and the printable cards that
go to the communes of a district."""

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.settings import Settings
from tests.browser import WALL, Service, serve, tile
from tests.service import free_port

Headers = dict[Role, dict[str, str]]
COMMUNE = "01267"  # Phường Sông Hiến, of Thành phố Cao Bằng (040)
DISTRICT = "040"
HUB = "04"


@pytest.fixture
async def service(settings: Settings, seeded: SessionMaker) -> AsyncIterator[Service]:
    port = free_port()
    # As an operator sets BRIDGEWATCH_PUBLIC_URL: where the communes reach the service.
    public = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    async with serve(create_app(public), port) as running:
        yield running


async def signed_in(browser: Browser, service: Service, headers: dict[str, str]) -> Page:
    page = await browser.new_page(viewport=WALL)
    token = headers["Authorization"].removeprefix("Bearer ")
    await page.add_init_script(f"localStorage.setItem('bw.token', {token!r})")
    await page.goto(service.base)
    await expect(page.locator("button.tile")).to_have_count(172)
    return page


async def test_an_operator_makes_a_join_link_with_its_qr_code_and_revokes_it(
    browser: Browser, service: Service, auth: Headers
) -> None:
    page = await signed_in(browser, service, auth[Role.OPERATOR])
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    try:
        await page.locator(tile(page, COMMUNE)).click()
        section = page.locator("#panel-agent")
        await expect(section).to_be_visible()
        await page.locator("#agent-link-make").click()
        await expect(section.locator("img.qr")).to_be_visible()
        link = await section.locator(".agent-url").input_value()
        qr_loaded = await section.locator("img.qr").evaluate("img => img.naturalWidth > 0")
        async with httpx.AsyncClient(base_url=service.base, timeout=10) as client:
            code = urlsplit(link).fragment.removeprefix("enrol=")
            enrolled = await client.post("/api/v1/agents/enrol", json={"code": code})
            secret = enrolled.json()["secret"]
            page.on("dialog", lambda dialog: dialog.accept())
            await page.locator("#agent-revoke").click()
            await expect(section.locator(".agent-done")).to_be_visible()
            status = await client.get(
                f"/api/v1/agents/{COMMUNE}/status", headers={"Authorization": f"Bearer {secret}"}
            )
    finally:
        await page.close()
    assert link.startswith(f"{service.base}/agent#enrol=")
    assert qr_loaded
    assert enrolled.status_code == 200
    assert status.status_code == 401  # the computer enrolled by the link is cut off
    assert refused == []


async def test_viewers_see_no_join_links_and_the_hub_has_none(
    browser: Browser, service: Service, auth: Headers
) -> None:
    viewer = await signed_in(browser, service, auth[Role.VIEWER])
    try:
        await viewer.locator(tile(viewer, COMMUNE)).click()
        await expect(viewer.locator("#panel-title")).not_to_be_empty()
        viewer_sees = await viewer.locator("#panel-agent").is_visible()
        viewer_prints = await viewer.locator("#print-links").is_visible()
    finally:
        await viewer.close()
    operator = await signed_in(browser, service, auth[Role.OPERATOR])
    try:
        await operator.locator(tile(operator, HUB)).click()
        await expect(operator.locator("#panel-title")).not_to_be_empty()
        hub_has_one = await operator.locator("#panel-agent").is_visible()
        operator_prints = await operator.locator("#print-links").is_visible()
    finally:
        await operator.close()
    assert not viewer_sees and not viewer_prints
    assert not hub_has_one  # the hub is not probed: nothing to join
    assert operator_prints


async def test_the_printed_cards_of_a_district_hold_every_site_with_its_qr_code(
    browser: Browser, service: Service, auth: Headers
) -> None:
    page = await signed_in(browser, service, auth[Role.OPERATOR])
    try:
        await page.select_option("#filter-group", DISTRICT)
        async with page.context.expect_page() as opened:
            await page.locator("#print-links").click()
        sheet = await opened.value
        cards = sheet.locator("article.card")
        await expect(cards.first).to_be_visible()
        count = await cards.count()
        codes = await cards.evaluate_all("cards => cards.map((c) => c.dataset.site)")
        qr_ok = await sheet.locator("article.card img.qr").evaluate_all(
            "imgs => imgs.every((img) => img.complete && img.naturalWidth > 0)"
        )
        first = await cards.first.inner_text()
        await sheet.close()
    finally:
        await page.close()
    async with httpx.AsyncClient(base_url=service.base, timeout=10) as client:
        listed = await client.get(
            "/api/v1/sites", params={"parent": DISTRICT}, headers=auth[Role.VIEWER]
        )
    communes = {site["code"] for site in listed.json()["items"]}
    assert set(codes) == communes | {DISTRICT} and count == len(communes) + 1
    assert qr_ok
    assert "Mã điểm cầu" in first and "/agent#enrol=" in first  # Vietnamese, with the link
