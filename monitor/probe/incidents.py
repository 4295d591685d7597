"""Incidents: the rules that turn status changes into episodes. Pure: no database, no clock.

An incident is one down or degraded episode of a site. The change to `down` or `degraded` opens
it; a degraded episode that goes down is escalated; every window of the episode, the one that
opened it included, keeps the worst figures (highest RTT, jitter and loss, lowest MOS); the change
back to a good status closes it. A site in a maintenance window reads `maintenance`, never down
or degraded (the status machine's part), so planned work opens no incident, and an episode open
when the window begins closes then: what follows is planned. The change out of maintenance is
judged like any other (to `down`: a new episode). An operator acknowledges an incident once,
with a note; a second acknowledgement is refused rather than overwriting who took it.

The recorder loads the open incidents of the sites in a batch as `Episode`s, lets `follow` walk
the batch's events in order, and saves what it returns; tests/test_incidents.py runs the rules
with no database at all. Grouping (monitor/probe/grouping.py) folds the incidents of sites that
failed together under one of their parent, after each batch; notifications will extend these
rules, not the recorder.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from models.site import SiteStatus
from monitor.probe.events import SampleTaken, StatusChanged

BAD = (SiteStatus.DOWN, SiteStatus.DEGRADED)


class Notice(StrEnum):
    """What subscribers (the live view, the fan-out) hear of an incident after a batch."""

    OPENED = "opened"
    UPDATED = "updated"  # escalated: a degraded episode went down
    CLOSED = "closed"
    ACKNOWLEDGED = "acknowledged"
    GROUPED = "grouped"  # attached to a group incident (monitor/probe/grouping.py) or let go


@dataclass
class Episode:
    """An incident as the rules see it; `incident_id` is None until it is saved."""

    site_id: int
    site_code: str
    severity: SiteStatus
    opened_at: datetime
    closed_at: datetime | None = None
    worst_rtt_seconds: float | None = None
    worst_jitter_seconds: float | None = None
    worst_loss_ratio: float | None = None
    worst_mos: float | None = None
    incident_id: int | None = None
    notice: Notice | None = None  # what to announce once saved; None: figures only

    def worsen(self, window: SampleTaken) -> None:
        """Keep the worst figures seen during the episode."""
        figures = window.figures
        self.worst_rtt_seconds = _worst(self.worst_rtt_seconds, figures.rtt_median_seconds, max)
        self.worst_jitter_seconds = _worst(self.worst_jitter_seconds, figures.jitter_seconds, max)
        self.worst_loss_ratio = _worst(self.worst_loss_ratio, figures.loss_ratio, max)
        self.worst_mos = _worst(self.worst_mos, figures.mos, min)


def _worst(
    current: float | None, new: float | None, pick: Callable[[float, float], float]
) -> float | None:
    if current is None:
        return new
    return current if new is None else pick(current, new)


def follow(
    open_episodes: dict[int, Episode], events: Iterable[SampleTaken | StatusChanged]
) -> list[Episode]:
    """Walk `events` in order over the sites' open episodes (by site id, updated in place);
    returns every episode they touched, opened and closed ones included, once each."""
    touched: dict[int, Episode] = {}  # by id(): new episodes have no incident id yet
    for event in events:
        episode = open_episodes.get(event.site_id)
        if isinstance(event, SampleTaken):
            if episode is not None:
                episode.worsen(event)
                touched[id(episode)] = episode
            continue
        changed = _change(episode, event)
        if changed is None:
            continue
        if changed.closed_at is None:
            open_episodes[event.site_id] = changed
        else:
            del open_episodes[event.site_id]
        touched[id(changed)] = changed
    return list(touched.values())


def _change(episode: Episode | None, change: StatusChanged) -> Episode | None:
    """The episode a status change opens, escalates or closes; None if it does neither."""
    if change.new in BAD and episode is None:
        return Episode(
            change.site_id, change.site_code, change.new, change.at, notice=Notice.OPENED
        )
    if episode is None:
        return None
    if change.new is SiteStatus.DOWN and episode.severity is not SiteStatus.DOWN:
        episode.severity = SiteStatus.DOWN
        episode.notice = episode.notice or Notice.UPDATED  # a new one is still just opened
        return episode
    if change.new not in BAD:
        episode.closed_at = change.at
        episode.notice = Notice.CLOSED  # opened and closed in one batch: heard of once, closed
        return episode
    return None


@dataclass(frozen=True)
class Acknowledgement:
    by: str
    at: datetime
    note: str


class AlreadyAcknowledgedError(Exception):
    def __init__(self, by: str | None, at: datetime) -> None:
        super().__init__(f"already acknowledged by {by} at {at.isoformat(timespec='seconds')}")
        self.by = by
        self.at = at


def acknowledge(
    acknowledged_by: str | None,
    acknowledged_at: datetime | None,
    *,
    who: str,
    note: str,
    now: datetime,
) -> Acknowledgement:
    """An operator takes the incident. Raises AlreadyAcknowledgedError if someone already has: a
    second acknowledgement would overwrite who took it and their note."""
    if acknowledged_at is not None:
        raise AlreadyAcknowledgedError(acknowledged_by, acknowledged_at)
    return Acknowledgement(who, now, note)
