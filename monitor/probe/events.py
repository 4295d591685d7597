"""What the engine tells the rest of the process, and the bounded fan-out that carries it.

A subscriber that falls behind never slows the engine: when its queue is full its backlog is
dropped and it receives a single `Resync`, after which it must re-read the current state.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models.site import SiteStatus
from monitor.probe.quality import WindowFigures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleTaken:
    """One measurement window of one site."""

    site_id: int
    site_code: str
    at: datetime
    reachable: bool
    figures: WindowFigures
    setup_seconds: float | None = None
    last_seen_at: datetime | None = None
    error_class: str | None = None
    report: dict[str, Any] | None = None
    media: dict[str, Any] | None = None  # figures of a media check finished in this window
    # Candidate types of the pair ICE selected (ours, the agent's), e.g. "host" / "relay".
    local_candidate_type: str | None = None
    remote_candidate_type: str | None = None


@dataclass(frozen=True)
class StatusChanged:
    site_id: int
    site_code: str
    old: SiteStatus
    new: SiteStatus
    reason: str
    at: datetime


@dataclass(frozen=True)
class FullChecked:
    """A full check of one site ended: its data channel, a short media check where its agent
    can do one, its camera and microphone where its agent reports them."""

    site_id: int
    site_code: str
    at: datetime
    passed: bool
    failed: str  # what failed, in words ("" when it passed)


@dataclass(frozen=True)
class AttendanceChanged:
    """A new number of delegates present at a site was saved (its agent reported a value it
    had not reported before, or an operator entered one): the latest wins, whoever gave it."""

    site_id: int
    site_code: str
    present: int
    source: str  # models.attendance.AttendanceSource
    by: str
    at: datetime


@dataclass(frozen=True)
class IncidentChanged:
    """An incident was opened, escalated, closed or acknowledged (published by the recorder)."""

    incident_id: int
    site_code: str
    state: str  # "opened" | "updated" | "closed" | "acknowledged" | "grouped"


@dataclass(frozen=True)
class Resync:
    """Events were lost for this subscriber: re-read the current state before going on."""

    dropped: int


Event = SampleTaken | StatusChanged | FullChecked | AttendanceChanged | IncidentChanged | Resync


@dataclass
class Subscription:
    name: str
    queue: asyncio.Queue[Event]
    dropped: int = field(default=0)
    # Only events not yet in the database: the recorder writes them, a worker's fan-out hands
    # them to the API processes; neither wants what another process already wrote.
    unwritten_only: bool = False

    async def get(self) -> Event:
        return await self.queue.get()

    def get_nowait(self) -> Event | None:
        try:
            return self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def drain(self, limit: int) -> list[Event]:
        """What is queued, oldest first, at most `limit` events."""
        events: list[Event] = []
        while len(events) < limit and (event := self.get_nowait()) is not None:
            events.append(event)
        return events


class EventBus:
    def __init__(self, on_drop: Callable[[str, int], None] | None = None) -> None:
        self._subscriptions: list[Subscription] = []
        self._on_drop = on_drop

    def subscribe(
        self, name: str, maxsize: int = 10_000, *, unwritten_only: bool = False
    ) -> Subscription:
        subscription = Subscription(name, asyncio.Queue(maxsize), unwritten_only=unwritten_only)
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def count(self, name: str) -> int:
        return sum(1 for s in self._subscriptions if s.name == name)

    def publish(self, event: Event, *, written: bool = False) -> None:
        """`written`: the event is in the database already (another worker observed it, or the
        sweep wrote it): subscribers of unwritten events only do not get it."""
        for subscription in self._subscriptions:
            if written and subscription.unwritten_only:
                continue
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                self._overflow(subscription)

    def _overflow(self, subscription: Subscription) -> None:
        lost = 1  # the event that did not fit
        carried = 0
        while not subscription.queue.empty():
            dropped = subscription.queue.get_nowait()
            # An unread Resync carries what it already stood for into the new one.
            if isinstance(dropped, Resync):
                carried += dropped.dropped
            else:
                lost += 1
        subscription.dropped += lost
        if self._on_drop is not None:
            self._on_drop(subscription.name, lost)
        lost += carried
        subscription.queue.put_nowait(Resync(lost))
        log.warning("subscriber fell behind", extra={"subscriber": subscription.name, "lost": lost})
