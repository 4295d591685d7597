"""Hysteresis and figures: a lost packet never pages anyone, a dead site is flagged, a site comes
back only after proving itself, and the MOS estimate moves the way people expect."""

from datetime import UTC, datetime, timedelta

import pytest

from models.settings import DEFAULT_THRESHOLDS
from models.site import SiteStatus
from monitor.probe.quality import WindowFigures, estimate_mos, figures
from monitor.probe.status import Policy, StatusMachine, media_problems
from monitor.wire.protocol import Report

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
GOOD = figures([0.020, 0.022, 0.021, 0.019], 0)
SLOW = figures([0.450, 0.460, 0.455], 0)


def machine(status: SiteStatus = SiteStatus.UNKNOWN) -> StatusMachine:
    return StatusMachine(Policy(3, 2, DEFAULT_THRESHOLDS), status, T0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_two_missed_heartbeats_page_nobody_the_third_does() -> None:
    site = machine(SiteStatus.UP)
    assert site.heartbeat(False, at(1)) is None
    assert site.heartbeat(False, at(2)) is None
    assert site.heartbeat(True, at(3)) is None  # an answer resets the count
    assert site.heartbeat(False, at(4)) is None
    assert site.heartbeat(False, at(5)) is None
    change = site.heartbeat(False, at(6))
    assert change is not None and (change.old, change.new) == (SiteStatus.UP, SiteStatus.DOWN)
    assert change.reason == "3 heartbeats missed" and site.since == at(6)
    assert site.heartbeat(False, at(7)) is None  # already down: no repeated change


def test_a_down_site_comes_back_only_after_two_good_windows() -> None:
    site = machine(SiteStatus.DOWN)
    assert site.window(GOOD, at(10)) is None
    change = site.window(GOOD, at(20))
    assert change is not None and change.new is SiteStatus.UP


def test_a_bad_window_breaks_the_streak_of_a_recovering_site() -> None:
    site = machine(SiteStatus.DEGRADED)
    assert site.window(GOOD, at(10)) is None
    assert site.window(SLOW, at(20)) is None
    assert site.window(GOOD, at(30)) is None
    change = site.window(GOOD, at(40))
    assert change is not None and change.new is SiteStatus.UP


def test_first_window_decides_unknown_and_one_bad_window_degrades() -> None:
    site = machine()
    first = site.window(GOOD, at(10))
    assert first is not None and (first.old, first.new) == (SiteStatus.UNKNOWN, SiteStatus.UP)
    change = site.window(SLOW, at(20))
    assert change is not None and change.new is SiteStatus.DEGRADED
    assert change.reason.startswith("RTT 455 ms")


def test_failed_setup_is_down_and_paused_sites_stay_paused() -> None:
    site = machine()
    change = site.setup_failed("set-up failed: unreachable", at(1))
    assert change is not None and change.new is SiteStatus.DOWN
    assert site.setup_failed("again", at(2)) is None
    paused = machine(SiteStatus.PAUSED)
    assert paused.window(GOOD, at(1)) is None and paused.setup_failed("x", at(2)) is None


def test_a_set_up_the_agent_took_part_in_is_down_only_when_it_runs_out_of_time_twice() -> None:
    site = machine()
    timed_out = "set-up failed: setup_timeout"
    assert site.setup_failed(timed_out, at(15), agent_answered=True) is None
    change = site.setup_failed(timed_out, at(31), agent_answered=True)
    assert change is not None and change.new is SiteStatus.DOWN and change.reason == timed_out
    up = machine(SiteStatus.UP)
    assert up.setup_failed(timed_out, at(15), agent_answered=True) is None
    up.connected()  # a connection in between: the next slow one is forgiven again
    assert up.setup_failed(timed_out, at(60), agent_answered=True) is None
    assert up.status is SiteStatus.UP


def test_site_thresholds_override_the_defaults() -> None:
    lenient = DEFAULT_THRESHOLDS.model_copy(update={"rtt_seconds": 0.6})
    site = StatusMachine(Policy(3, 2, lenient), SiteStatus.UNKNOWN, T0)
    change = site.window(SLOW, at(10))
    assert change is not None and change.new is SiteStatus.UP


def test_a_media_fault_degrades_at_once_and_its_end_needs_the_good_windows() -> None:
    site = machine(SiteStatus.UP)
    black = Report(camera="black", microphone="ok", camera_luma=2.0)
    change = site.window(GOOD, at(10), black)
    assert change is not None and (change.old, change.new) == (SiteStatus.UP, SiteStatus.DEGRADED)
    assert change.reason == "no picture (black)"
    assert site.window(GOOD, at(20), black) is None  # still black: no new change
    fixed = Report(camera="ok", microphone="ok")
    assert site.window(GOOD, at(30), fixed) is None  # one good window is not enough
    back = site.window(GOOD, at(40), fixed)
    assert back is not None and back.new is SiteStatus.UP
    assert back.reason == "link good for 2 windows"


def test_a_degraded_site_whose_problems_change_says_the_new_ones() -> None:
    site = machine(SiteStatus.UP)
    black = Report(camera="black", microphone="ok")
    assert site.window(GOOD, at(10), black) is not None
    silent = Report(camera="ok", microphone="silent")
    change = site.window(GOOD, at(20), silent)  # the camera fixed, the sound gone
    assert change is not None and (change.old, change.new) == (SiteStatus.DEGRADED,) * 2
    assert change.reason == "no sound (silent)" and site.since == at(20)
    assert site.window(GOOD, at(30), silent) is None  # the same problem: nothing new
    slow_and_silent = site.window(SLOW, at(40), silent)
    assert slow_and_silent is not None and slow_and_silent.reason.startswith("RTT ")
    slower = WindowFigures(10, 0, 0.5, 0.5, 0.0, 0.0, 4.0)
    assert site.window(slower, at(50), silent) is None  # other figures, the same kinds
    # A monitor started again finds the site degraded: its first window says nothing new.
    again = machine(SiteStatus.DEGRADED)
    assert again.window(GOOD, at(60), black) is None


def test_media_faults_join_the_link_problems_in_one_reason() -> None:
    site = machine()
    both = Report(camera="frozen", microphone="silent")
    change = site.window(SLOW, at(10), both)
    assert change is not None and change.new is SiteStatus.DEGRADED
    assert change.reason == "RTT 455 ms, no picture (frozen), no sound (silent)"
    down = machine(SiteStatus.DOWN)
    missing = Report(camera="missing", microphone="missing")
    assert down.window(GOOD, at(10), missing) is None
    change = down.window(GOOD, at(20), missing)
    assert change is not None and change.new is SiteStatus.DEGRADED
    assert change.reason == "no picture (no camera), no sound (no microphone) for 2 windows"


@pytest.mark.parametrize(
    ("report", "reasons"),
    [
        (None, []),  # no report since this connection began: nothing to hold against it
        (Report(attendance=3), []),  # an agent that does not check the devices
        (Report(camera="ok", microphone="ok"), []),
        (Report(camera="denied", microphone="denied"), []),  # not checked is not broken
        (Report(camera_ok=False, microphone_ok=False), ["no picture", "no sound"]),  # old agent
        (Report(camera_ok=True, microphone_ok=True), []),
        (Report(camera_ok=False, camera="ok"), []),  # the named verdict wins over the flag
        (Report(microphone_ok=True, microphone="silent"), ["no sound (silent)"]),
    ],
)
def test_which_reports_are_media_faults(report: Report | None, reasons: list[str]) -> None:
    assert media_problems(report) == reasons
    change = machine(SiteStatus.UP).window(GOOD, at(10), report)
    if reasons:
        assert change is not None and change.reason == ", ".join(reasons)
    else:
        assert change is None


def test_window_figures() -> None:
    result = figures([0.010, 0.030, 0.020, 0.040], 1)
    assert result == WindowFigures(
        sent=5,
        lost=1,
        rtt_median_seconds=0.025,
        rtt_p95_seconds=0.04,
        jitter_seconds=0.016667,
        loss_ratio=0.2,
        mos=result.mos,
    )
    silent = figures([], 3)
    assert (silent.loss_ratio, silent.rtt_median_seconds, silent.mos) == (1.0, None, None)


@pytest.mark.parametrize(
    ("rtt", "jitter", "loss", "low", "high"),
    [
        (0.020, 0.002, 0.0, 4.3, 4.5),  # a clean provincial link
        (0.300, 0.010, 0.0, 4.0, 4.4),  # slow but clean: still fine for speech
        (0.050, 0.005, 0.10, 3.0, 3.6),  # 10 % loss is what people hear first
        (0.900, 0.100, 0.20, 1.0, 2.0),  # unusable
    ],
)
def test_mos_estimate(rtt: float, jitter: float, loss: float, low: float, high: float) -> None:
    assert low <= estimate_mos(rtt, jitter, loss) <= high


def test_a_site_in_maintenance_is_never_down_and_is_judged_at_once_when_it_ends() -> None:
    site = machine(SiteStatus.UP)
    entered = site.maintain("thay cáp quang", at(1))
    assert entered is not None and entered.new is SiteStatus.MAINTENANCE
    assert entered.reason == "maintenance: thay cáp quang"
    for second in range(2, 8):  # its agent dies: the misses are counted, the status stays
        assert site.heartbeat(False, at(second)) is None
    assert site.setup_failed("set-up failed: unreachable", at(8)) is None
    assert site.window(SLOW, at(10)) is None
    assert site.maintain("thay cáp quang", at(11)) is None  # still on: nothing new
    left = site.maintain(None, at(12))
    assert left is not None and (left.old, left.new) == (SiteStatus.MAINTENANCE, SiteStatus.DOWN)
    assert left.reason == "6 heartbeats missed"


def test_a_site_failing_to_connect_through_its_maintenance_is_down_after_it() -> None:
    site = machine(SiteStatus.DOWN)
    assert site.maintain("", at(1)) is not None and site.reason == "maintenance"
    assert site.setup_failed("set-up failed: setup_timeout", at(5)) is None
    left = site.maintain(None, at(9))
    assert left is not None and left.new is SiteStatus.DOWN
    assert left.reason == "set-up failed: setup_timeout"


def test_a_site_alive_after_its_maintenance_is_unknown_until_its_next_window() -> None:
    site = machine(SiteStatus.DOWN)
    site.maintain("đổi máy", at(1))
    site.connected()
    assert site.heartbeat(True, at(2)) is None
    left = site.maintain(None, at(3))
    assert left is not None and (left.new, left.reason) == (SiteStatus.UNKNOWN, "maintenance over")
    judged = site.window(GOOD, at(10))
    assert judged is not None and judged.new is SiteStatus.UP
    assert site.maintain(None, at(11)) is None  # no window, not in one: nothing


def test_a_paused_site_stays_paused_in_a_window_and_long_notes_fit_the_reason() -> None:
    assert machine(SiteStatus.PAUSED).maintain("x", at(1)) is None
    long = machine(SiteStatus.UP).maintain("á" * 500, at(1))
    assert long is not None and len(long.reason) == 200 and long.reason.endswith("…")
