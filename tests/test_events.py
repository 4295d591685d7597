"""The event bus never blocks the engine: a slow subscriber loses its backlog and is told so."""

from datetime import UTC, datetime

from models.site import SiteStatus
from monitor.probe.events import EventBus, Resync, StatusChanged


def change(n: int) -> StatusChanged:
    return StatusChanged(n, f"S{n}", SiteStatus.UP, SiteStatus.DOWN, "test", datetime.now(UTC))


def test_a_slow_subscriber_gets_a_resync_and_the_fast_one_everything() -> None:
    bus = EventBus()
    slow = bus.subscribe("slow", maxsize=5)
    fast = bus.subscribe("fast", maxsize=1000)
    for n in range(12):
        bus.publish(change(n))
    received = []
    while (event := slow.get_nowait()) is not None:
        received.append(event)
    # 12 events into a queue of 5: the subscriber learns that 11 were lost, then goes on.
    assert isinstance(received[0], Resync) and received[0].dropped == 11
    assert [e.site_id for e in received[1:] if isinstance(e, StatusChanged)] == [11]
    assert slow.dropped == 11
    assert fast.queue.qsize() == 12
    bus.unsubscribe(slow)
    assert bus.subscriber_count == 1
