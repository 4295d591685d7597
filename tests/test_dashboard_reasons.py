"""Why a site changed status, told in the page's language for every form the monitor writes."""

from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser

from app.main import create_app
from models.settings import DEFAULT_THRESHOLDS, Settings
from models.site import SiteStatus
from monitor.probe.quality import figures
from monitor.probe.status import Policy, StatusMachine
from monitor.scaleout.unwatched import UNWATCHED_REASON
from tests.browser import serve

pytestmark = pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
T0 = datetime(2026, 11, 23, 7, 45, tzinfo=UTC)
SETUP_ERRORS = [
    "agent_not_connected", "bad_answer", "bad_offer", "no_secret", "no_target",
    "setup_timeout", "signaling_timeout", "unauthorized", "unreachable",
]  # fmt: skip
ENGLISH = ("heartbeat", "missed", "set-up", "failed", "link", "good", "window", "loss", "jitter")


def reasons_the_monitor_writes() -> list[str]:
    """Real reasons, from the status machine itself: a format change there shows up here."""
    written = []

    def machine(status: SiteStatus) -> StatusMachine:
        return StatusMachine(Policy(3, 2, DEFAULT_THRESHOLDS), status, T0)

    lost = machine(SiteStatus.UP)
    for _ in range(3):
        change = lost.heartbeat(False, T0)
    written.append(change.reason if change else "")
    for error in SETUP_ERRORS:
        change = machine(SiteStatus.UP).setup_failed(f"set-up failed: {error}", T0)
        written.append(change.reason if change else "")
    bad = figures([0.35, 0.45, 0.30, 0.50], 2)  # slow, jittery, lossy, and so a low MOS
    good = figures([0.01, 0.011], 0)
    for status, windows in (
        (SiteStatus.UNKNOWN, [good]),
        (SiteStatus.UP, [bad]),
        (SiteStatus.DOWN, [good, good]),
        (SiteStatus.DOWN, [bad, bad]),
    ):
        site = machine(status)
        changes = [site.window(window, T0) for window in windows]
        written.append(changes[-1].reason if changes[-1] else "")
    paused = machine(SiteStatus.UP).pause(T0)
    written.append(paused.reason if paused else "")
    written.append(UNWATCHED_REASON)  # scale-out: no worker holds the site
    assert all(written), written
    return written


async def test_every_reason_reads_in_vietnamese_and_in_english(
    settings: Settings, browser: Browser
) -> None:
    reasons = reasons_the_monitor_writes()
    async with serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service:
        page = await browser.new_page()
        try:
            await page.goto(service.base)
            told = await page.evaluate(
                """async (reasons) => {
                  const { setLang } = await import('/static/js/i18n.js');
                  const { explain } = await import('/static/js/reason.js');
                  const tell = (lang) => { setLang(lang); return reasons.map(explain); };
                  return { vi: tell('vi'), en: tell('en') };
                }""",
                reasons,
            )
        finally:
            await page.close()

    for reason, vi, en in zip(reasons, told["vi"], told["en"], strict=True):
        assert not any(word in vi.lower() for word in ENGLISH), (reason, vi)
        assert "reason." not in vi and "reason." not in en, (reason, vi, en)
        assert [n for n in reason.split() if n.isdigit()] == [n for n in vi.split() if n.isdigit()]
