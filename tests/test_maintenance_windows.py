"""When a maintenance window is on: RRULE occurrences in the window's own time zone, pure."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.maintenance.windows import (
    InvalidWindowError,
    Span,
    Window,
    check,
    current,
    spans,
    upcoming,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")  # UTC+7 all year: no daylight saving time
# Sunday 6 December 2026, 22:00 in Cao Bằng, for two hours: past midnight local, 15:00 UTC.
SUNDAY_22 = datetime(2026, 12, 6, 22, 0, tzinfo=HCM)
WEEKLY = Window(SUNDAY_22, timedelta(hours=2), "FREQ=WEEKLY;BYDAY=SU")


def local(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=HCM)


def test_a_weekly_window_is_on_each_sunday_night_across_midnight_and_off_between() -> None:
    # The second Sunday: on from 22:00 until Monday 00:00 local time.
    on = current(WEEKLY, local(13, 23, 30))
    assert on == Span(
        datetime(2026, 12, 13, 15, 0, tzinfo=UTC), datetime(2026, 12, 13, 17, 0, tzinfo=UTC)
    )
    assert current(WEEKLY, local(13, 21, 59)) is None
    assert current(WEEKLY, local(14, 0, 0)) is None  # the end is not in it
    assert current(WEEKLY, local(10, 22, 30)) is None  # a Thursday
    assert current(WEEKLY, local(6, 21, 0)) is None  # before the first occurrence


def test_the_next_occurrence_is_a_week_on_and_stays_at_22_00_local() -> None:
    after_first = upcoming(WEEKLY, local(7, 9, 0))
    assert after_first is not None
    assert after_first.start.astimezone(HCM) == local(13, 22, 0)
    in_may = upcoming(WEEKLY, local(4, 12, 0, month=5).replace(year=2027))
    assert in_may is not None and in_may.start.astimezone(HCM).hour == 22


def test_a_window_spanning_midnight_is_counted_on_both_days() -> None:
    nightly = Window(local(6, 23, 30), timedelta(hours=1), "FREQ=DAILY")
    found = list(spans(nightly, local(8, 0, 0), local(9, 0, 0)))
    # The occurrence of the 7th runs into the 8th; the 8th's own starts at 23:30.
    assert [(s.start.astimezone(HCM), s.end.astimezone(HCM)) for s in found] == [
        (local(7, 23, 30), local(8, 0, 30)),
        (local(8, 23, 30), local(9, 0, 30)),
    ]


def test_a_one_off_window_is_on_between_its_start_and_end_only() -> None:
    once = Window(local(6, 8, 0), timedelta(minutes=30))
    assert current(once, local(6, 8, 10)) is not None
    assert current(once, local(6, 8, 30)) is None
    assert upcoming(once, local(6, 7, 0)) == Span(local(6, 8, 0), local(6, 8, 30))
    assert upcoming(once, local(6, 9, 0)) is None
    assert check(once) == local(6, 8, 30)


def test_a_rule_that_ends_gives_the_end_of_its_last_occurrence() -> None:
    four = Window(SUNDAY_22, timedelta(hours=2), "FREQ=WEEKLY;COUNT=4")
    assert check(four) == local(27, 22, 0) + timedelta(hours=2)  # 6, 13, 20 and 27
    assert current(four, local(3, 23, 0, month=1).replace(year=2027)) is None
    assert check(WEEKLY) is None  # forever


def test_overlapping_occurrences_are_on_until_the_last_of_them_ends() -> None:
    hourly = Window(local(6, 8, 0), timedelta(minutes=90), "FREQ=HOURLY")
    on = current(hourly, local(6, 9, 15))
    assert on is not None and on.end.astimezone(HCM) == local(6, 10, 30)


@pytest.mark.parametrize(
    ("window", "why"),
    [
        (Window(SUNDAY_22, timedelta(0)), "end after it starts"),
        (Window(SUNDAY_22, timedelta(minutes=-5)), "end after it starts"),
        (Window(SUNDAY_22, timedelta(days=40)), "at most 31 days"),
        (Window(SUNDAY_22, timedelta(hours=1), "FREQ=FORTNIGHTLY"), "FREQ"),
        (Window(SUNDAY_22, timedelta(hours=1), "BYDAY=SU"), "FREQ"),
        (Window(SUNDAY_22, timedelta(hours=1), "FREQ=MINUTELY"), "FREQ"),
        (Window(SUNDAY_22, timedelta(hours=1), "FREQ=WEEKLY;BYDAY=XX"), "does not parse"),
        (Window(SUNDAY_22, timedelta(hours=1), "FREQ=WEEKLY;UNTIL=20270101"), "does not parse"),
        (Window(SUNDAY_22, timedelta(hours=1), "FREQ=DAILY;COUNT=20000"), "at most 10000"),
        (Window(SUNDAY_22, timedelta(hours=1), "FREQ=DAILY", "Mars/Olympus"), "time zone"),
        (Window(SUNDAY_22.replace(tzinfo=None), timedelta(hours=1)), "offset"),
    ],
)
def test_windows_that_cannot_be_saved_say_why(window: Window, why: str) -> None:
    with pytest.raises(InvalidWindowError, match=why):
        check(window)


def test_a_zone_with_daylight_saving_keeps_the_local_hour_across_the_change() -> None:
    """Not Vietnam's case, but a rule is read at the wall clock of its zone: 22:00 in Berlin is
    21:00 UTC in winter and 20:00 UTC in summer."""
    berlin = ZoneInfo("Europe/Berlin")
    weekly = Window(
        datetime(2027, 3, 21, 22, 0, tzinfo=berlin),
        timedelta(hours=1),
        "FREQ=WEEKLY",
        "Europe/Berlin",
    )
    winter, summer = spans(
        weekly, datetime(2027, 3, 21, tzinfo=UTC), datetime(2027, 3, 29, tzinfo=UTC)
    )
    assert (winter.start.hour, summer.start.hour) == (21, 20)
