"""The heartbeat does not blame a site for the monitor's own pauses."""

import asyncio
import gc
import time

from aiortc import RTCPeerConnection

from monitor.agent import SiteAgent
from monitor.heartbeat import Heartbeat
from monitor.ice import restrict_host_addresses, rtc_configuration
from monitor.netem import Impairment
from monitor.peer import apply_answer, close_quietly, make_offer, offering_channel, wait_open
from monitor.protocol import Report


class Tally:
    def __init__(self) -> None:
        self.rtts: list[float] = []
        self.unmeasured = 0
        self.misses = 0

    def answered(self, rtt_seconds: float | None) -> None:
        if rtt_seconds is None:
            self.unmeasured += 1
        else:
            self.rtts.append(rtt_seconds)

    def missed(self) -> None:
        self.misses += 1

    def late(self) -> None:
        self.misses += 1  # counted first as missed, which is what this test forbids

    def reported(self, report: Report) -> None:
        pass


def _full_collections(seconds: float) -> float:
    """Stop the process in the garbage collector, as a full collection at scale does."""
    nodes: list[list[object]] = [[] for _ in range(200_000)]
    for i, node in enumerate(nodes):
        node.extend(nodes[i : i + 40])  # many references: each pass takes a while
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        gc.collect()
    return time.perf_counter() - started


async def test_a_collector_pause_is_neither_a_slow_nor_a_missed_heartbeat() -> None:
    restrict_host_addresses(["127.0.0.1"])
    rtc = rtc_configuration([])
    # 50 ms each way through the relay: a ping is always in flight when the pause begins.
    agent = SiteAgent("040", "secret", rtc, impairment=Impairment(delay_seconds=0.05))
    pc = RTCPeerConnection(rtc)
    channel = offering_channel(pc)
    try:
        answer, _ = await agent.answer(await make_offer(pc))
        await apply_answer(pc, answer)
        await asyncio.wait_for(wait_open(channel), 30)
        tally = Tally()
        beating = asyncio.create_task(Heartbeat(channel, 0.1, 0.5, tally).run())
        await asyncio.sleep(1.0)
        paused = _full_collections(0.8)  # longer than the heartbeat timeout
        await asyncio.sleep(1.5)
        beating.cancel()
    finally:
        await close_quietly(pc)
        for session in list(agent.sessions):
            await agent.end(session)

    assert paused >= 0.8
    assert tally.misses == 0
    assert tally.unmeasured >= 1  # the pings in flight during the pause
    assert len(tally.rtts) >= 15 and max(tally.rtts) < paused / 2
