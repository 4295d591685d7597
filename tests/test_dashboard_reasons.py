"""Why a site changed status, told in the page's language for every form the monitor writes."""

from datetime import UTC, datetime

from playwright.async_api import Browser

from app.main import create_app
from models.settings import DEFAULT_THRESHOLDS, Settings
from models.site import SiteStatus
from monitor.probe.monitor_link import NOT_OBSERVABLE
from monitor.probe.quality import figures
from monitor.probe.status import Policy, StatusMachine
from monitor.scaleout.unwatched import UNWATCHED_REASON
from monitor.wire.protocol import Report
from tests.browser import serve
from tests.databases import SQLITE_ONLY

pytestmark = SQLITE_ONLY
T0 = datetime(2026, 11, 23, 7, 45, tzinfo=UTC)
SETUP_ERRORS = [
    "agent_not_connected", "bad_answer", "bad_offer", "no_secret", "no_target",
    "setup_timeout", "signaling_timeout", "unauthorized", "unreachable",
]  # fmt: skip
ENGLISH = (
    "heartbeat", "missed", "set-up", "failed", "link", "good", "window", "loss", "jitter",
    "picture", "sound", "black", "frozen", "silent", "microphone", "maintenance",
)  # fmt: skip
# What the room's camera and microphone may be reported as, and how each must read.
ROOM = [
    (Report(camera="black"), "Không có hình (màn hình đen)", "No picture (black)"),
    (Report(camera="frozen"), "Không có hình (hình bị đứng)", "No picture (frozen)"),
    (Report(camera="missing"), "Không có hình (không có camera)", "No picture (no camera)"),
    (Report(camera_ok=False), "Không có hình", "No picture"),
    (Report(microphone="silent"), "Không có tiếng (im lặng)", "No sound (silent)"),
    (Report(microphone="missing"), "Không có tiếng (không có micrô)", "No sound (no microphone)"),
    (Report(microphone_ok=False), "Không có tiếng", "No sound"),
]

TELL_JS = """async (reasons) => {
  const { setLang } = await import('/static/js/i18n.js');
  const { explain } = await import('/static/js/reason.js');
  const tell = (lang) => { setLang(lang); return reasons.map(explain); };
  return { vi: tell('vi'), en: tell('en') };
}"""


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
    for report, _, _ in ROOM:
        change = machine(SiteStatus.UP).window(good, T0, report)
        written.append(change.reason if change else "")
    both = Report(camera="black", microphone="silent")
    change = machine(SiteStatus.UP).window(bad, T0, both)  # with the link's own problems
    written.append(change.reason if change else "")
    back = machine(SiteStatus.DOWN)
    changes = [back.window(good, T0, both) for _ in range(2)]
    written.append(changes[-1].reason if changes[-1] else "")
    paused = machine(SiteStatus.UP).pause(T0)
    written.append(paused.reason if paused else "")
    for note in ("Thay cáp quang", ""):  # a maintenance window, with its note or none
        planned = machine(SiteStatus.UP).maintain(note, T0)
        written.append(planned.reason if planned else "")
    over = machine(SiteStatus.MAINTENANCE).maintain(None, T0)
    written.append(over.reason if over else "")
    written.append(UNWATCHED_REASON)  # scale-out: no worker holds the site
    written.append(NOT_OBSERVABLE)  # shown while the monitor's own link is out
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
            told = await page.evaluate(TELL_JS, reasons)
        finally:
            await page.close()

    for reason, vi, en in zip(reasons, told["vi"], told["en"], strict=True):
        assert not any(word in vi.lower() for word in ENGLISH), (reason, vi)
        assert "reason." not in vi and "reason." not in en, (reason, vi, en)
        assert [n for n in reason.split() if n.isdigit()] == [n for n in vi.split() if n.isdigit()]


async def test_the_rooms_faults_read_as_the_technicians_words(
    settings: Settings, browser: Browser
) -> None:
    """The words Vietnamese bridge points use for these faults: Không có hình, Không có tiếng."""
    good = figures([0.01, 0.011], 0)
    reasons = []
    for report, _, _ in ROOM:
        change = StatusMachine(Policy(3, 2, DEFAULT_THRESHOLDS), SiteStatus.UP, T0).window(
            good, T0, report
        )
        reasons.append(change.reason if change else "")
    reasons.append("RTT 350 ms, no picture (black), no sound (silent) for 2 windows")
    async with serve(create_app(settings.model_copy(update={"anonymous_read": True}))) as service:
        page = await browser.new_page()
        try:
            await page.goto(service.base)
            told = await page.evaluate(TELL_JS, reasons)
        finally:
            await page.close()
    assert told["vi"][:-1] == [vi for _, vi, _ in ROOM]
    assert told["en"][:-1] == [en for _, _, en in ROOM]
    assert told["vi"][-1] == (
        "độ trễ khứ hồi 350 ms, Không có hình (màn hình đen), Không có tiếng (im lặng) "
        "trong 2 chu kỳ đo"
    )
    assert (
        told["en"][-1] == "round trip 350 ms, No picture (black), No sound (silent) for 2 windows"
    )
