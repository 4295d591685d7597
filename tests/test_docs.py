"""/docs on a closed network: Swagger UI renders from the service's own files, under the same
strict Content-Security-Policy as the dashboard, and can call the API."""

from playwright.async_api import Browser, Request

from app.main import create_app
from models.db import SessionMaker
from models.settings import Settings
from tests.browser import serve


async def test_the_api_docs_render_offline_under_the_strict_policy(
    browser: Browser, settings: Settings, seeded: SessionMaker
) -> None:
    async with serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service:
        page = await browser.new_page()
        elsewhere: list[str] = []
        refused: list[str] = []

        def note(request: Request) -> None:
            if not request.url.startswith(service.base):
                elsewhere.append(request.url)

        page.on("request", note)
        page.on(
            "console",
            lambda message: (
                refused.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        try:
            await page.goto(f"{service.base}/docs")
            # Every operation of the API is listed, e.g. the sites of the organiser's question.
            await page.locator("#operations-sites-list_sites_api_v1_sites_get").wait_for()
            operations = await page.locator(".opblock").count()
            # Try it out: the page calls the API it documents.
            await page.locator("#operations-sites-summary_api_v1_summary_get").click()
            await page.get_by_role("button", name="Try it out").click()
            await page.get_by_role("button", name="Execute").click()
            body = await page.locator(".live-responses-table .microlight").first.inner_text()
        finally:
            await page.close()
    assert operations >= 20
    assert '"total": 172' in body
    assert elsewhere == [], "the docs page asked for something outside the service"
    assert refused == [], refused
