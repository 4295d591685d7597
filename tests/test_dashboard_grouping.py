"""A district's link on the dashboard, in real Chromium: one line that says what broke, its
communes' incidents folded under it until asked for, in Vietnamese and in English. And the
monitor's own link: one line, the sites it cannot reach not observable rather than down."""

from datetime import timedelta

from playwright.async_api import Browser, expect
from sqlalchemy import select

from app.main import create_app
from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.incident import Incident, IncidentKind
from models.settings import Settings
from monitor.probe.events import EventBus, IncidentChanged
from monitor.probe.group_store import GroupStore
from monitor.probe.incidents import Notice
from tests.browser import WALL, counter, serve, tile
from tests.databases import SQLITE_ONLY
from tests.service import free_port
from tests.test_dashboard import bearer, opened
from tests.test_group_store import RULE, communes_with_agents, down_incidents, two_districts_down

pytestmark = SQLITE_ONLY
Headers = dict[Role, dict[str, str]]


async def test_a_district_link_is_one_line_with_its_communes_folded(
    settings: Settings, seeded: SessionMaker, browser: Browser, auth: Headers
) -> None:
    communes = await communes_with_agents(seeded)  # the 11 of Thành phố Cao Bằng (040)
    await down_incidents(seeded, communes[:1], utcnow() - timedelta(hours=1))  # its own trouble
    await down_incidents(seeded, communes[1:9], utcnow() - timedelta(seconds=20))
    async with (
        serve(create_app(settings)) as service,
        opened(browser, WALL, bearer(auth[Role.VIEWER])) as page,
    ):
        await page.goto(service.base)
        lines = page.locator("#incidents-open > [data-incident]")
        await expect(lines).to_have_count(9)  # before grouping: one line per commune
        # Grouped while the page is open: it hears of it as from a worker's recorder.
        bus: EventBus = service.server.lifespan.state["bus"]
        for notice in await GroupStore(seeded, RULE).regroup([c.id for c in communes], utcnow()):
            bus.publish(notice)
        await expect(lines).to_have_count(2)  # the district's, and the commune down on its own
        group = page.locator('#incidents-open > [data-kind="group"]')
        await expect(group.locator(".inc-site")).to_have_text("Thành phố Cao Bằng")
        await expect(group.locator(".inc-cause")).to_have_text(
            "Sự cố đường truyền cấp huyện: 8/11 xã mất kết nối"
        )
        folded = group.locator(".inc-children-list li")
        await expect(folded).to_have_count(8)
        await expect(folded.first).to_be_hidden()
        await group.locator(".inc-children summary").click()
        await expect(group.locator(".inc-children summary")).to_have_text(
            "Các điểm cầu bị ảnh hưởng (8)"
        )
        await expect(folded.first).to_be_visible()
        await expect(folded.filter(has_text=communes[1].name)).to_contain_text("Đang diễn ra")
        alone = page.locator('#incidents-open > [data-kind="site"]')
        await expect(alone.locator(".inc-site")).to_have_text(communes[0].name)

        await page.goto(f"{service.base}/?lang=en")
        await expect(group.locator(".inc-cause")).to_have_text(
            "District link: 8 of 11 communes down"
        )


async def test_while_the_monitors_link_is_out_its_sites_are_not_shown_down(
    settings: Settings, seeded: SessionMaker, browser: Browser, auth: Headers
) -> None:
    communes = await two_districts_down(seeded)
    nobody = f"127.0.0.1:{free_port()}"  # the gateway does not answer
    async with (
        serve(create_app(settings)) as service,
        opened(browser, WALL, bearer(auth[Role.VIEWER])) as page,
    ):
        await page.goto(service.base)
        first = page.locator(tile(page, communes[0].code))
        await expect(first).to_have_attribute("data-status", "down")
        # The monitor finds its own link out while the page is open (as a worker's recorder
        # would tell it): the sites it cannot see are no longer shown down.
        bus: EventBus = service.server.lifespan.state["bus"]
        for notice in await GroupStore(seeded, RULE, [nobody]).regroup(
            [c.id for c in communes], utcnow()
        ):
            bus.publish(notice)
        lines = page.locator("#incidents-open > [data-incident]")
        await expect(lines).to_have_count(1)
        await expect(lines.locator(".inc-cause")).to_have_text(
            "Máy giám sát mất kết nối: 24/24 điểm cầu không quan sát được"
        )
        await expect(first).to_have_attribute("data-status", "unknown")
        assert await counter(page, "down") == 0
        # A page opened meanwhile shows the same from its first snapshot, with the reason.
        await page.reload()
        await expect(first).to_have_attribute("data-status", "unknown")
        await first.click()
        await expect(page.locator("#site-panel")).to_contain_text(
            "không quan sát được: máy giám sát mất kết nối"
        )
        # The link is back, the sites not yet: they read down again.
        async with seeded() as session:
            link = await session.scalar(
                select(Incident).where(Incident.kind == IncidentKind.MONITOR_LINK)
            )
            assert link is not None
            link.closed_at = utcnow()
            await session.commit()
        bus.publish(IncidentChanged(link.id, "04", Notice.CLOSED))
        await expect(first).to_have_attribute("data-status", "down")
        assert await counter(page, "down") == len(communes)
