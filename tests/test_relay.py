"""Live events cross processes through the real PostgreSQL's LISTEN/NOTIFY
(monitor/scaleout/fanout.py)."""

import asyncio
from datetime import UTC, datetime

import asyncpg

from models.db import asyncpg_dsn
from models.site import SiteStatus
from monitor.probe.events import (
    Event,
    EventBus,
    IncidentChanged,
    Resync,
    SampleTaken,
    StatusChanged,
)
from monitor.probe.quality import WindowFigures
from monitor.scaleout.fanout import (
    MAX_PAYLOAD_BYTES,
    FanOutListener,
    FanOutPublisher,
    decode,
    encode,
)
from tests.databases import PostgresDatabases
from tests.probing import DEADLINE_SECONDS

FIGURES = WindowFigures(10, 1, 0.021, 0.048, 0.004, 0.1, 4.1)
AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def sample(n: int) -> SampleTaken:
    report = {"attendance": n % 40, "version": "1.0", "note": "Xã Trường Hà " * 20}
    return SampleTaken(n, f"{n:05d}", AT, True, FIGURES, 0.3, AT, None, report, None)


def test_payloads_stay_under_the_limit_and_decode_to_the_same_events() -> None:
    events: list[Event] = [
        *(sample(n) for n in range(300)),
        StatusChanged(7, "00007", SiteStatus.UP, SiteStatus.DOWN, "3 heartbeats missed", AT),
        IncidentChanged(3, "00007", "opened"),
    ]
    payloads = encode("worker-1", events)
    assert len(payloads) > 1
    assert all(len(p.encode()) < MAX_PAYLOAD_BYTES for p in payloads)
    decoded = [event for p in payloads for event in decode(p)[1]]
    assert decoded == events
    # Events too big for any payload, and a Resync, are counted as lost, not dropped in silence.
    huge = SampleTaken(1, "1", AT, True, FIGURES, report={"x": "y" * 9000})
    assert [decode(p)[2] for p in encode("w", [huge, Resync(5)])] == [6]


async def collect(bus: EventBus, count: int) -> list[object]:
    subscription = bus.subscribe("test")
    received: list[object] = []
    async with asyncio.timeout(DEADLINE_SECONDS):
        while len(received) < count:
            received.append(await subscription.get())
    return received


async def test_a_burst_arrives_complete_and_in_order(postgres: PostgresDatabases) -> None:
    async with postgres.fresh() as url:
        dsn = asyncpg_dsn(url)
        worker_bus, api_bus = EventBus(), EventBus()
        listener = FanOutListener(dsn, api_bus)
        tasks = [
            asyncio.create_task(listener.run()),
            asyncio.create_task(FanOutPublisher(dsn, worker_bus, "worker-1").run()),
        ]
        try:
            await asyncio.wait_for(listener.connected.wait(), DEADLINE_SECONDS)
            receiving = asyncio.create_task(collect(api_bus, 3000))
            await asyncio.sleep(0)
            events = [sample(n) for n in range(3000)]
            for event in events:  # as fast as an engine at national scale could, and faster
                worker_bus.publish(event)
            assert await receiving == events
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_listener_cut_off_reconnects_and_says_resync(postgres: PostgresDatabases) -> None:
    async with postgres.fresh() as url:
        dsn = asyncpg_dsn(url)
        bus = EventBus()
        subscription = bus.subscribe("stream")
        recorder = bus.subscribe("recorder", unwritten_only=True)
        listener = FanOutListener(dsn, bus, own_origin="me")
        task = asyncio.create_task(listener.run())
        try:
            await asyncio.wait_for(listener.connected.wait(), DEADLINE_SECONDS)
            admin = await asyncpg.connect(dsn)
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND datname = current_database()"
                )
                event = await asyncio.wait_for(subscription.get(), DEADLINE_SECONDS)
                assert isinstance(event, Resync)
                await asyncio.wait_for(listener.connected.wait(), DEADLINE_SECONDS)
                # Back: other workers' events arrive; this process's own do not come twice.
                for origin in ("me", "other"):
                    (payload,) = encode(origin, [sample(1)])
                    await admin.execute("SELECT pg_notify('bridgewatch_events', $1)", payload)
                event = await asyncio.wait_for(subscription.get(), DEADLINE_SECONDS)
                assert event == sample(1) and subscription.queue.empty()
                # The recorder writes only what its own engine saw.
                assert recorder.queue.empty()
            finally:
                await admin.close()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
