"""Time in each status within a window, from a site's recorded status changes.

Exact to the recorded change, not to the measurement window: a site that went down at 08:14:03
and came back at 08:20:41 was down for 398 s of the conference, whatever the window length.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from models.site import SiteStatus


@dataclass(frozen=True)
class Change:
    at: datetime
    new: SiteStatus


def seconds_in_status(
    before: SiteStatus, changes: Iterable[Change], start: datetime, end: datetime
) -> dict[SiteStatus, float]:
    """Seconds spent in each status between `start` and `end`, given the status `before` the
    window opened and the changes in time order (changes outside the window are allowed)."""
    spent = dict.fromkeys(SiteStatus, 0.0)
    status, since = before, start
    for change in changes:
        if change.at <= start:
            status = change.new
            continue
        if change.at >= end:
            break
        spent[status] += (change.at - since).total_seconds()
        status, since = change.new, change.at
    if end > since:
        spent[status] += (end - since).total_seconds()
    return spent


def overlap_seconds(
    opened: datetime, closed: datetime | None, start: datetime, end: datetime
) -> float:
    """How much of an episode from `opened` to `closed` (None: still open) lies in the window."""
    first = max(opened, start)
    last = min(closed or end, end)
    return max(0.0, (last - first).total_seconds())
