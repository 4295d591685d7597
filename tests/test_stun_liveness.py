"""Liveness from STUN binding requests: the requests are what ICE sends, a real agent's ICE
answers them on the selected pair, silence is noticed and confirmed, and loss is not silence."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aioice import stun
from aioice.candidate import candidate_priority
from aiortc import RTCDataChannel, RTCPeerConnection

from monitor.agent import site_agent
from monitor.agent.site_agent import IDLE_TIMEOUT_SECONDS, SiteAgent
from monitor.probe import stun_heartbeat
from monitor.probe.stun_heartbeat import SPARSE_PING_PACE, PingPace, StunHeartbeat
from monitor.simulation.link import BLACKHOLE, ImpairedPath, Impairment
from monitor.wire.ice import restrict_host_addresses, rtc_configuration
from monitor.wire.ice_path import ice_connection, on_binding_request, selected_pair
from monitor.wire.peer import apply_answer, close_quietly, make_offer, offering_channel, wait_open
from monitor.wire.protocol import Report
from monitor.wire.stun_binding import BindingRequests
from monitor.wire.stun_prober import StunProber, probe_pair

PASSWORD = "remote-password-22char"


def _requests(controlling: bool) -> BindingRequests:
    return BindingRequests(
        local_ufrag="loca",
        remote_ufrag="remo",
        remote_password=PASSWORD,
        priority=candidate_priority(1, "prflx"),
        controlling=controlling,
        tie_breaker=0x0123456789ABCDEF,
    )


@pytest.mark.parametrize("controlling", [True, False])
def test_a_request_is_byte_for_byte_what_aioice_sends(controlling: bool) -> None:
    transaction_id = os.urandom(12)
    expected = stun.Message(stun.Method.BINDING, stun.Class.REQUEST, transaction_id)
    expected.attributes["USERNAME"] = "remo:loca"
    expected.attributes["PRIORITY"] = candidate_priority(1, "prflx")
    role = "ICE-CONTROLLING" if controlling else "ICE-CONTROLLED"
    expected.attributes[role] = 0x0123456789ABCDEF
    expected.add_message_integrity(PASSWORD.encode())

    built = _requests(controlling).build(transaction_id)

    assert built == bytes(expected)
    parsed = stun.parse_message(built)  # checks FINGERPRINT
    assert parsed.check_message_integrity(PASSWORD.encode())


def _response(key: str | None, kind: stun.Class = stun.Class.RESPONSE) -> bytes:
    """An answer as aioice's ICE sends it (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT)."""
    message = stun.Message(stun.Method.BINDING, kind, os.urandom(12))
    message.attributes["XOR-MAPPED-ADDRESS"] = ("127.0.0.1", 4000)
    if key is None:
        message.add_fingerprint()
    else:
        message.add_message_integrity(key.encode())
    return bytes(message)


def test_only_a_success_signed_with_the_remote_password_answers() -> None:
    requests = _requests(True)
    assert requests.answers(_response(PASSWORD))
    assert not requests.answers(_response(None))
    assert not requests.answers(_response("another-password-22chr"))
    assert not requests.answers(_response(PASSWORD, stun.Class.ERROR))
    altered = bytearray(_response(PASSWORD))
    altered[26] ^= 1  # in the mapped address, which the signature covers
    assert not requests.answers(bytes(altered))


async def test_the_prober_runs_what_is_due_in_time_order() -> None:
    prober = StunProber(tick_seconds=0.01)
    loop = asyncio.get_running_loop()
    ran: list[tuple[int, float]] = []
    start = loop.time()
    for number, delay in [(3, 0.15), (1, 0.05), (2, 0.1), (4, 0.15)]:
        prober.call_at(start + delay, lambda n: ran.append((n, loop.time() - start)), number)
    await asyncio.sleep(0.3)
    assert [n for n, _ in ran] == [1, 2, 3, 4]
    assert all(at >= delay for (_, at), delay in zip(ran, [0.05, 0.1, 0.15, 0.15], strict=True))
    prober.close()


class Tally:
    """What a heartbeat told its site, with the longest run of misses."""

    def __init__(self) -> None:
        self.rtts: list[float] = []
        self.unmeasured = 0
        self.misses = 0
        self.lates = 0
        self.overtaken_misses = 0  # missed, after a later request was answered
        self.streak = 0
        self.longest_streak = 0
        self.three_missed = asyncio.Event()  # three in a row: a site would be down
        self.heard = asyncio.Event()  # set at each answer to a request (not a confirmation)
        self.reports: list[Report] = []
        self.report_heard = asyncio.Event()

    def answered(self, rtt_seconds: float | None) -> None:
        self.streak = 0
        if rtt_seconds is None:
            self.unmeasured += 1
        else:
            self.rtts.append(rtt_seconds)
            self.heard.set()

    def missed(self) -> None:
        self.misses += 1
        self.streak += 1
        self.longest_streak = max(self.longest_streak, self.streak)
        if self.streak == 3:
            self.three_missed.set()

    def overtaken(self) -> None:
        self.misses += 1
        self.overtaken_misses += 1

    def late(self) -> None:
        self.lates += 1
        self.streak = 0

    def reported(self, report: Report) -> None:
        self.reports.append(report)
        self.report_heard.set()


@asynccontextmanager
async def connected(
    path: ImpairedPath,
) -> AsyncIterator[tuple[RTCPeerConnection, RTCDataChannel, SiteAgent]]:
    """A monitor's connection to a real agent whose packets go through `path`."""
    restrict_host_addresses(["127.0.0.1"])
    rtc = rtc_configuration([])
    agent = SiteAgent("040", "secret", rtc, detour=path)
    pc = RTCPeerConnection(rtc)
    channel = offering_channel(pc)
    try:
        answer, _ = await agent.answer(await make_offer(pc))
        await apply_answer(pc, answer)
        await asyncio.wait_for(wait_open(channel), 30)
        yield pc, channel, agent
    finally:
        await close_quietly(pc)
        await agent.close()


async def test_an_agents_ice_answers_probes_on_the_selected_pair() -> None:
    answers: list[int] = []

    class Listener:
        def answered(self, probe: int, sent: float) -> None:
            answers.append(probe)

    async with connected(ImpairedPath()) as (pc, _, _):
        selected = selected_pair(pc)
        assert selected is not None
        connection, _ = selected
        pair = probe_pair(pc, Listener())
        assert pair is not None
        await asyncio.sleep(0)  # the cancelled consent checks finish
        assert connection._query_consent_task is None or connection._query_consent_task.done()
        first, second = pair.send(), pair.send(copies=3)
        await asyncio.sleep(0.5)
        pair.close()
    # The three copies of the second probe are answered each; the site hears of each.
    assert sorted(answers) == [first, second, second, second]


async def test_silence_is_three_misses_within_a_second_and_an_answer_ends_it() -> None:
    path = ImpairedPath()
    tally = Tally()
    async with connected(path) as (pc, channel, _):
        heartbeat = StunHeartbeat(pc, channel, StunProber(), 0.1, 0.5, tally)
        beating = asyncio.create_task(heartbeat.run())
        await asyncio.sleep(1.0)
        answered = len(tally.rtts)
        path.impairment = BLACKHOLE  # the agent's machine is gone, nothing answers
        silent = asyncio.get_running_loop().time()
        await asyncio.wait_for(tally.three_missed.wait(), 5)
        noticed = asyncio.get_running_loop().time() - silent
        path.impairment = Impairment.NONE
        await asyncio.sleep(1.0)
        beating.cancel()
    assert answered >= 5 and all(0 < rtt < 0.05 for rtt in tally.rtts[:answered])
    # One interval, then the request's and two confirmations' timeouts at the 0.25 s floor.
    assert noticed < 0.1 + 3 * 0.25 + 0.2, noticed
    assert tally.streak == 0 and len(tally.rtts) > answered  # heard again, timed again


async def test_a_request_lost_then_confirmed_alive_starts_no_run_of_misses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One request lost, its confirmation answered; the next request lost with its first
    confirmation, the second answered. Three requests counted missed for the windows, but the
    first is no miss in a row: the site had answered since it was sent. Counted in a row, it
    made three with the next two, and lossy links went down (5 lost round trips, not 7)."""
    monkeypatch.setattr(stun_heartbeat, "FLOOR_SECONDS", 0.5)  # room for the cuts' timing
    path = ImpairedPath()
    tally = Tally()
    loop = asyncio.get_running_loop()

    async def cut(start: float, end: float) -> None:
        await asyncio.sleep(start - loop.time())
        path.impairment = BLACKHOLE
        await asyncio.sleep(end - loop.time())
        path.impairment = Impairment.NONE

    async with connected(path) as (pc, channel, _):
        heartbeat = StunHeartbeat(pc, channel, StunProber(), 2.0, 2.0, tally)
        beating = asyncio.create_task(heartbeat.run())
        for _ in range(2):  # the first request goes out at once, the second at the first tick
            tally.heard.clear()
            await asyncio.wait_for(tally.heard.wait(), 5)
        tick = loop.time() + 2.0  # the next request; its confirmation 0.5 s later
        await cut(tick - 0.3, tick + 0.25)
        # That request counts missed at its 2 s timeout, when the next one goes out; that one
        # and its first confirmation are lost, the second confirmation is answered.
        await cut(tick + 1.7, tick + 2.75)
        await asyncio.sleep(tick + 3.5 - loop.time())
        beating.cancel()
    assert (tally.misses, tally.overtaken_misses, tally.longest_streak) == (3, 1, 2)
    assert not tally.three_missed.is_set()


async def test_a_lossy_slow_link_never_looks_silent() -> None:
    path = ImpairedPath(Impairment(loss=0.05, delay_seconds=0.05))
    tally = Tally()
    async with connected(path) as (pc, channel, _):
        heartbeat = StunHeartbeat(pc, channel, StunProber(), 0.15, 1.0, tally)
        beating = asyncio.create_task(heartbeat.run())
        await asyncio.sleep(12.0)
        beating.cancel()
    assert tally.misses >= 1  # ~10% of round trips lose a packet: the link is lossy
    assert tally.longest_streak < 3
    assert len(tally.rtts) >= 50 and min(tally.rtts) >= 0.1  # 50 ms each way


async def test_a_session_whose_agent_answers_stun_but_no_ping_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (The agent's report says it counts binding requests: its pings are sparse.)
    monkeypatch.setattr(stun_heartbeat, "SPARSE_PING_PACE", PingPace(15.0, quiet=0.0, silence=1.0))
    tally = Tally()
    async with connected(ImpairedPath()) as (pc, channel, _):
        heartbeat = StunHeartbeat(pc, channel, StunProber(), 0.1, 0.5, tally)
        beating = asyncio.create_task(heartbeat.run())
        await asyncio.sleep(0.5)
        # From now on no pong is heard, as from a page whose scripts stopped: its browser's
        # ICE goes on answering.
        channel.remove_all_listeners("message")
        await asyncio.wait_for(beating, 5)  # the heartbeat ends by itself
        assert channel.readyState == "open"
    assert tally.misses == 0 and len(tally.rtts) >= 5


async def test_an_agent_kept_alive_by_binding_requests_is_pinged_rarely_and_stays() -> None:
    """The Python agent counts the monitor's binding requests as signs of life and says so: the
    monitor's pings then come further apart than the agent's 10 s idle limit, and the session
    lasts (an agent counting only pings would drop it as idle). Its own consent checks stop:
    the monitor has no request to answer."""
    tally = Tally()
    pongs: list[float] = []
    agents_requests: list[float] = []
    async with connected(ImpairedPath()) as (pc, channel, agent):
        loop = asyncio.get_running_loop()
        channel.on("message", lambda raw: pongs.append(loop.time()) if "pong" in raw else None)
        connection = ice_connection(pc)
        assert connection is not None
        on_binding_request(connection, lambda: agents_requests.append(loop.time()))
        heartbeat = StunHeartbeat(pc, channel, StunProber(), 1.0, 1.0, tally)
        beating = asyncio.create_task(heartbeat.run())
        await asyncio.wait_for(tally.report_heard.wait(), 5)
        reported = loop.time()
        await asyncio.sleep(IDLE_TIMEOUT_SECONDS + 3.0)
        assert channel.readyState == "open" and not beating.done()
        assert [s.closed.is_set() for s in agent.sessions.values()] == [False]
        beating.cancel()
    assert tally.reports[0].stun_keepalive is True
    assert SPARSE_PING_PACE.interval > IDLE_TIMEOUT_SECONDS + 3.0
    assert not [at for at in pongs if at > reported + 0.5]  # no ping since the report
    assert not agents_requests  # aioice's consent checks would be one every ~5 s
    assert tally.misses == 0 and len(tally.rtts) >= IDLE_TIMEOUT_SECONDS


async def test_an_agent_reporting_on_time_is_not_pinged_and_one_whose_reports_stop_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report says the agent's application runs as a pong does: while reports come on time a
    `stun_keepalive` agent is not pinged. Once they stop, pings come again, and their pongs
    keep the session (paces shortened: reports every 2 s, pings after 3 s of silence)."""
    monkeypatch.setattr(site_agent, "REPORT_INTERVAL_SECONDS", 2.0)
    monkeypatch.setattr(
        stun_heartbeat, "SPARSE_PING_PACE", PingPace(interval=1.0, quiet=3.0, silence=6.0)
    )
    tally = Tally()
    pongs: list[float] = []
    async with connected(ImpairedPath()) as (pc, channel, agent):
        loop = asyncio.get_running_loop()
        channel.on("message", lambda raw: pongs.append(loop.time()) if "pong" in raw else None)
        heartbeat = StunHeartbeat(pc, channel, StunProber(), 0.5, 0.5, tally)
        beating = asyncio.create_task(heartbeat.run())
        await asyncio.wait_for(tally.report_heard.wait(), 5)
        reported = loop.time()
        await asyncio.sleep(7.0)
        pinged_while_reporting = [at for at in pongs if at > reported + 0.5]
        reports_while_reporting = len(tally.reports)
        # The agent's next report is its last for a long while.
        monkeypatch.setattr(site_agent, "REPORT_INTERVAL_SECONDS", 1000.0)
        await asyncio.sleep(9.0)
        silent_since = loop.time() - 9.0
        assert channel.readyState == "open" and not beating.done()
        assert [s.closed.is_set() for s in agent.sessions.values()] == [False]
        beating.cancel()
    assert tally.reports[0].stun_keepalive is True and reports_while_reporting >= 4
    assert not pinged_while_reporting
    # Pinged after 3 s of silence, and again 3 s after each pong: answered, the session stays.
    assert len([at for at in pongs if at > silent_since]) >= 2
