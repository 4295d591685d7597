"""Scale-out: what each worker's engine observes reaches every API process, through PostgreSQL
LISTEN/NOTIFY.

A worker's `FanOutPublisher` sends its bus's events as JSON notifications (batched every 0.1 s,
each under PostgreSQL's 8,000-byte limit). An API process's `FanOutListener` puts them on its own
bus, marked as written so its recorder does not write them a second time. Notifications are not
stored: whatever could not be delivered, or arrived while a listener was away, is announced as a
`Resync`, and live views re-read the database.

`ChannelListener` is the LISTEN side on its own; workers also use it to hear of site edits
(models.lease.SITE_EDITS_CHANNEL).
"""

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from typing import Any

import asyncpg
from pydantic import TypeAdapter

from monitor.probe.events import (
    AttendanceChanged,
    Event,
    EventBus,
    FullChecked,
    IncidentChanged,
    Resync,
    SampleTaken,
    StatusChanged,
)

log = logging.getLogger(__name__)
CHANNEL = "bridgewatch_events"
NOTIFY = "SELECT pg_notify($1, $2)"
MAX_PAYLOAD_BYTES = 7_900  # PostgreSQL refuses a payload of 8,000 bytes or more
BATCH_SECONDS = 0.1
TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 10.0
CHECK_SECONDS = 10.0
RETRY_MAX_SECONDS = 10.0

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "sample": TypeAdapter(SampleTaken),
    "status": TypeAdapter(StatusChanged),
    "incident": TypeAdapter(IncidentChanged),
    "check": TypeAdapter(FullChecked),
    "attendance": TypeAdapter(AttendanceChanged),
}
_KIND = {
    SampleTaken: "sample",
    StatusChanged: "status",
    IncidentChanged: "incident",
    FullChecked: "check",
    AttendanceChanged: "attendance",
}


def encode(origin: str, events: list[Event], lost: int = 0) -> list[str]:
    """Notification payloads for `events`; an event that cannot fit any payload counts as lost."""
    items: list[tuple[str, int]] = []  # (JSON, its size in bytes with a comma)
    for event in events:
        if isinstance(event, Resync):
            lost += event.dropped or 1
            continue
        kind = _KIND[type(event)]
        item = json.dumps([kind, _ADAPTERS[kind].dump_python(event, mode="json")])
        size = len(item.encode()) + 1
        if size > MAX_PAYLOAD_BYTES - 200:
            lost += 1
        else:
            items.append((item, size))
    payloads: list[str] = []
    batch: list[str] = []
    batch_size = 0
    for item, size in items:
        if batch and batch_size + size > MAX_PAYLOAD_BYTES - 100:
            payloads.append(_payload(origin, batch, 0))
            batch, batch_size = [], 0
        batch.append(item)
        batch_size += size
    if batch or lost:
        payloads.append(_payload(origin, batch, lost))
    return payloads


def _payload(origin: str, items: list[str], lost: int) -> str:
    return f'{{"origin":{json.dumps(origin)},"lost":{lost},"events":[{",".join(items)}]}}'


def decode(payload: str) -> tuple[str, list[Event], int]:
    """The origin, the events and the count of lost events of one payload."""
    message = json.loads(payload)
    events: list[Event] = [
        _ADAPTERS[kind].validate_python(data) for kind, data in message["events"]
    ]
    return message["origin"], events, int(message["lost"])


def _backoff(failures: int) -> float:
    return float(min(RETRY_MAX_SECONDS, 0.5 * 2**failures) * random.uniform(0.5, 1.0))


class FanOutPublisher:
    """Sends what this worker observes to the API processes."""

    def __init__(self, dsn: str, bus: EventBus, origin: str) -> None:
        self._dsn = dsn
        self._origin = origin
        self._subscription = bus.subscribe(
            "relay",  # the label /metrics has always shown
            maxsize=50_000,
            unwritten_only=True,
        )
        self._lost = 0

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_SECONDS)
                failures = 0
                try:
                    await self._pump(connection)
                finally:
                    await _close(connection)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("fan-out of live events to the API failed", extra={"error": str(exc)})
                failures += 1
                await asyncio.sleep(_backoff(failures))

    async def _pump(self, connection: asyncpg.Connection) -> None:
        while True:
            first = await self._subscription.get()
            await asyncio.sleep(BATCH_SECONDS)
            events = [first, *self._subscription.drain(10_000)]
            try:
                for payload in encode(self._origin, events, self._lost):
                    await connection.execute(NOTIFY, CHANNEL, payload, timeout=TIMEOUT_SECONDS)
            except BaseException:
                self._lost += len(events)  # announced with the next batch that gets through
                raise
            self._lost = 0


class ChannelListener:
    """LISTENs on one channel for as long as it runs, and reconnects with backoff. `listening`
    is called each time a connection starts listening: what was sent before is not delivered,
    so the caller re-reads what it needs from then on."""

    def __init__(
        self,
        dsn: str,
        channel: str,
        notified: Callable[[str], None],
        listening: Callable[[], None],
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._notified = notified
        self._listening = listening
        self.connected = asyncio.Event()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._listen()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning(
                    "listening for notifications failed",
                    extra={"channel": self._channel, "error": str(exc)},
                )
            if self.connected.is_set():
                self.connected.clear()
                failures = 0
            failures += 1
            await asyncio.sleep(_backoff(failures))

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_SECONDS)
        gone = asyncio.Event()
        connection.add_termination_listener(lambda _: gone.set())
        try:
            await connection.add_listener(self._channel, self._received)
            self.connected.set()
            self._listening()
            while not gone.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(gone.wait(), CHECK_SECONDS)
                if not gone.is_set():  # a link that died in silence is found out here
                    await connection.execute("SELECT 1", timeout=TIMEOUT_SECONDS)
        finally:
            await _close(connection)

    def _received(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._notified(payload)


class FanOutListener:
    """Puts what the workers observe on this process's bus."""

    def __init__(self, dsn: str, bus: EventBus, own_origin: str | None = None) -> None:
        self._bus = bus
        self._own_origin = own_origin  # this process's engine: its events are on the bus already
        self._channel = ChannelListener(dsn, CHANNEL, self._notified, self._listening)
        self.connected = self._channel.connected
        self._listened = False

    async def run(self) -> None:
        await self._channel.run()

    def _listening(self) -> None:
        # Back after a loss: whatever was sent while we were away is gone, so live views must
        # re-read, and from now on (a re-read at the loss itself would miss the gap).
        if self._listened:
            self._bus.publish(Resync(0), written=True)
        self._listened = True

    def _notified(self, payload: str) -> None:
        try:
            origin, events, lost = decode(payload)
        except (ValueError, KeyError, TypeError):
            log.error("unreadable notification on the fan-out channel ignored")
            return
        if origin == self._own_origin:
            return
        if lost:
            self._bus.publish(Resync(lost), written=True)
        for event in events:
            self._bus.publish(event, written=True)


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(connection.close(), TIMEOUT_SECONDS)
    except Exception:
        connection.terminate()
