"""When a maintenance window is on. Pure: no database, no clock.

A window is a first occurrence (`starts_at`, `duration`) and, when it recurs, an RFC 5545 RRULE
expanded by python-dateutil in the window's time zone: "FREQ=WEEKLY;BYDAY=SU" from Sunday 22:00
in Asia/Ho_Chi_Minh is 22:00 there every Sunday, whatever UTC says. Occurrences may overlap
(a rule more frequent than its duration), as windows may overlap each other.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

# Longer than this is not maintenance but a site out of service: disable it instead.
MAX_DURATION = timedelta(days=31)
# Planned work does not recur every minute; finer rules would only cost expanding them.
ALLOWED_FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
# A finite rule is expanded once to know when it ends; more occurrences than this is a mistake.
MAX_OCCURRENCES = 10_000


class InvalidWindowError(ValueError):
    """A window that cannot be saved, with a reason an operator can act on."""


@dataclass(frozen=True)
class Window:
    starts_at: datetime  # aware; the first occurrence
    duration: timedelta
    rule: str | None = None  # RRULE without the "RRULE:" prefix; None: once
    time_zone: str = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class Span:
    start: datetime  # UTC
    end: datetime


def window_of_parts(
    starts_at: datetime,
    ends_at: datetime | None,
    rule: str | None,
    duration: timedelta | None,
    time_zone: str,
) -> Window:
    """The window someone described: once with an end, or recurring with a duration."""
    if rule is None:
        if ends_at is None or duration is not None:
            raise InvalidWindowError("a one-off window needs an end (and no duration)")
        return Window(starts_at, ends_at - starts_at, None, time_zone)
    if duration is None or ends_at is not None:
        raise InvalidWindowError("a recurring window needs a duration (and no end)")
    return Window(starts_at, duration, rule, time_zone)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidWindowError(f"unknown time zone {name!r}") from exc


def _rule(window: Window) -> rrule:
    assert window.rule is not None
    first = window.starts_at.astimezone(zone(window.time_zone))
    try:
        parsed = rrulestr(window.rule, dtstart=first, forceset=False)
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise InvalidWindowError(f"the RRULE does not parse: {exc}") from exc
    if not isinstance(parsed, rrule):
        raise InvalidWindowError("give one RRULE (no RDATE, EXDATE or several rules)")
    return parsed


def _parts(rule: str) -> dict[str, str]:
    text = rule.strip().removeprefix("RRULE:")
    return {k.upper(): v for k, _, v in (p.partition("=") for p in text.split(";") if p)}


def check(window: Window) -> datetime | None:
    """Raise InvalidWindowError unless the window can be saved; return when its last occurrence
    ends (None: never)."""
    if window.starts_at.tzinfo is None:
        raise InvalidWindowError("the start needs a time zone offset")
    if window.duration <= timedelta(0):
        raise InvalidWindowError("the window must end after it starts")
    if window.duration > MAX_DURATION:
        raise InvalidWindowError(f"a window lasts at most {MAX_DURATION.days} days")
    zone(window.time_zone)
    if window.rule is None:
        return window.starts_at + window.duration
    if "\n" in window.rule.strip() or window.rule.strip().upper().startswith("DTSTART"):
        raise InvalidWindowError("give the RRULE alone; the start is `starts_at`")
    parts = _parts(window.rule)
    if parts.get("FREQ", "").upper() not in ALLOWED_FREQUENCIES:
        allowed = ", ".join(ALLOWED_FREQUENCIES)
        raise InvalidWindowError(f"the RRULE needs FREQ, one of {allowed}")
    rule = _rule(window)
    if "COUNT" not in parts and "UNTIL" not in parts:
        if rule.after(window.starts_at, inc=True) is None:
            raise InvalidWindowError("the RRULE has no occurrence")
        return None
    return _last_end(rule, window.duration)


def _last_end(rule: rrule, duration: timedelta) -> datetime:
    starts = list(islice(rule, MAX_OCCURRENCES + 1))
    if not starts:
        raise InvalidWindowError("the RRULE has no occurrence")
    if len(starts) > MAX_OCCURRENCES:
        raise InvalidWindowError(f"a finite RRULE has at most {MAX_OCCURRENCES} occurrences")
    return (starts[-1] + duration).astimezone(UTC)


def current(window: Window, now: datetime) -> Span | None:
    """The occurrence on at `now` (the latest begun, which also ends last); None: none is."""
    if now < window.starts_at:
        return None
    if window.rule is None:
        start = window.starts_at
    else:
        local = _rule(window).before(now.astimezone(zone(window.time_zone)), inc=True)
        if local is None:
            return None
        start = local
    end = start + window.duration
    return Span(start.astimezone(UTC), end.astimezone(UTC)) if now < end else None


def upcoming(window: Window, now: datetime) -> Span | None:
    """The occurrence on at `now`, or else the next one; None: the window is over."""
    on = current(window, now)
    if on is not None:
        return on
    if window.rule is None:
        start: datetime | None = window.starts_at if now < window.starts_at else None
    else:
        start = _rule(window).after(now.astimezone(zone(window.time_zone)))
    if start is None:
        return None
    return Span(start.astimezone(UTC), (start + window.duration).astimezone(UTC))


def spans(window: Window, start: datetime, end: datetime) -> Iterator[Span]:
    """The occurrences that overlap `start`..`end`, in order."""
    if window.rule is None:
        occurrence_starts: Iterator[datetime] = iter([window.starts_at])
    else:
        tz = zone(window.time_zone)
        earliest = (start - window.duration).astimezone(tz)
        occurrence_starts = _rule(window).xafter(earliest, inc=False)
    for first in occurrence_starts:
        if first >= end:
            return
        last = first + window.duration
        if last > start:
            yield Span(first.astimezone(UTC), last.astimezone(UTC))
