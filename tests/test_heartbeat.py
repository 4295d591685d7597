"""The heartbeat, echoed or STUN, does not blame a site for the monitor's own pauses."""

import asyncio
import gc
import time
from collections.abc import Callable

import pytest
from aiortc import RTCPeerConnection

from monitor.agent.site_agent import SiteAgent
from monitor.probe.heartbeat import Heartbeat
from monitor.probe.stalls import OWN_STALLS
from monitor.probe.stun_heartbeat import StunHeartbeat
from monitor.simulation.link import ImpairedPath, Impairment
from monitor.wire.ice import restrict_host_addresses, rtc_configuration
from monitor.wire.peer import apply_answer, close_quietly, make_offer, offering_channel, wait_open
from monitor.wire.protocol import Report
from monitor.wire.stun_prober import StunProber


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

    def overtaken(self) -> None:
        self.misses += 1

    def late(self) -> None:
        self.misses += 1  # counted first as missed, which is what this test forbids

    def reported(self, report: Report) -> None:
        pass


def _full_collections() -> float:
    """Stop the process in the garbage collector, as a full collection at scale does."""
    nodes: list[list[object]] = [[] for _ in range(200_000)]
    for i, node in enumerate(nodes):
        node.extend(nodes[i : i + 40])  # many references: each pass takes a while
    started = time.perf_counter()
    while time.perf_counter() - started < 0.8:
        gc.collect()
    return time.perf_counter() - started


async def _heartbeat_across(stall: Callable[[], float], liveness: str) -> tuple[Tally, float]:
    """Ping every 100 ms through a 50 ms relay (a ping is always in flight), `stall` the
    process meanwhile; returns what the heartbeat counted and how long the stall lasted."""
    restrict_host_addresses(["127.0.0.1"])
    rtc = rtc_configuration([])
    agent = SiteAgent("040", "secret", rtc, detour=ImpairedPath(Impairment(delay_seconds=0.05)))
    pc = RTCPeerConnection(rtc)
    channel = offering_channel(pc)
    watcher = asyncio.create_task(OWN_STALLS.watch_loop())
    try:
        answer, _ = await agent.answer(await make_offer(pc))
        await apply_answer(pc, answer)
        await asyncio.wait_for(wait_open(channel), 30)
        tally = Tally()
        heartbeat = (
            Heartbeat(channel, 0.1, 0.5, tally)
            if liveness == "echo"
            else StunHeartbeat(pc, channel, StunProber(), 0.1, 0.5, tally)
        )
        beating = asyncio.create_task(heartbeat.run())
        await asyncio.sleep(1.0)
        stalled = stall()
        await asyncio.sleep(1.5)
        beating.cancel()
    finally:
        watcher.cancel()
        await close_quietly(pc)
        for session in list(agent.sessions):
            await agent.end(session)
    return tally, stalled


def _starved_loop() -> float:
    """The loop stands still as when the CPU is starved or something blocks it."""
    started = time.perf_counter()
    time.sleep(0.8)
    return time.perf_counter() - started


@pytest.mark.parametrize("liveness", ["echo", "stun"])
@pytest.mark.parametrize("stall", [_full_collections, _starved_loop])
async def test_the_monitors_own_stall_is_neither_a_slow_nor_a_missed_heartbeat(
    stall: Callable[[], float], liveness: str
) -> None:
    tally, stalled = await _heartbeat_across(stall, liveness)

    assert stalled >= 0.8  # longer than the heartbeat timeout
    assert tally.misses == 0
    assert tally.unmeasured >= 1  # the pings in flight during the stall
    assert len(tally.rtts) >= 15 and max(tally.rtts) < stalled / 2
