"""Liveness from STUN binding requests on the selected candidate pair (`liveness = stun`).

Each interval the site's pair gets one binding request, which the agent's ICE layer answers
without any application code (RFC 7675 consent freshness; browsers do the same). As with the
echo, a request unanswered within the heartbeat timeout is a missed heartbeat, and the window
counts it lost. But the site is suspect sooner: once a request is unanswered past the site's own
retransmission timeout (RFC 6298's SRTT + 4·RTTVAR over its answers, within [`FLOOR_SECONDS`,
the heartbeat timeout]), a confirmation of `CONFIRM_COPIES` requests goes out at once (as SWIM
confirms a suspect). Any answer clears the suspicion. A confirmation unanswered within that
timeout confirms it: the suspect request and the confirmation count missed there and then, and
the next confirmation follows, until an answer or the status machine counts the site lost. With
the default 3 missed heartbeats a dead agent is flagged within an interval plus three of its
timeouts; a false one needs a request and two confirmations, nine requests, all lost: on a link
that loses 5% each way (~10% of round trips) ~10⁻⁹ per heartbeat, once in two thousand
10-minute runs at 1,000 sites (with three copies it was seven requests, once in twenty runs).

The data channel stays for the agent's reports, and carries pings (`PING_PACE`): agents
drop a session that hears no ping for 10 s (docs/PROTOCOL.md §5.6). Their pongs, and their
reports, say the agent's application still runs: a browser's WebRTC stack answers STUN even
while the page's scripts stand still (a sleeping tab), so a session whose application is silent
for a while ends. An agent that counts the binding requests as signs of life says so in its
report (`stun_keepalive`), and then is pinged only when its application has been silent longer
than its reports' pace (`SPARSE_PING_PACE`): the data channel's packets (DTLS, SCTP and its
acknowledgements) cost the monitor more than the binding requests themselves.
"""

import asyncio
import logging
import random
import time
from dataclasses import dataclass

from aiortc import RTCDataChannel, RTCPeerConnection

from monitor.probe.heartbeat import STALL_SECONDS, HeartbeatSink
from monitor.probe.stalls import OWN_STALLS
from monitor.wire.protocol import Ping, Pong, Report, decode, encode
from monitor.wire.stun_prober import ProbedPair, StunProber, probe_pair

log = logging.getLogger(__name__)
FLOOR_SECONDS = 0.25  # never suspect sooner: the agent's own loop may pause this long
CONFIRM_COPIES = 4
MISSES_REMEMBERED = 16  # an answer to an older missed probe is no longer counted late


@dataclass(frozen=True)
class PingPace:
    """When the data channel carries a ping, and how long a silent application ends a session:
    the agent's ICE still answers, but its application (what sends pongs and reports) stands
    still, as a page whose scripts stopped, and the session ends as if the agent had closed it.
    A ping goes out `interval` after the last one, once the application has been silent for
    `quiet`."""

    interval: float
    quiet: float
    silence: float


# 5 pings in a row must be lost before an agent's 10 s idle limit; 7 unanswered before the
# session ends: on a 5%-lossy link ~10⁻⁷ per ping. The agent's idle rule counts only pings, so
# they go out whatever else it says.
PING_PACE = PingPace(interval=2.0, quiet=0.0, silence=15.0)
# An agent that counts binding requests as signs of life: pings only ask whether its
# application runs, and its reports every 30 s say so already. It is pinged once a report is 5 s
# late (past its 10 s idle limit, so an agent that does not count binding requests drops), and
# every 15 s while no pong comes; the session ends after 3 reports and 6 pings in a row went
# unheard (the channel is unreliable: nothing lost is resent).
SPARSE_PING_PACE = PingPace(interval=15.0, quiet=35.0, silence=112.5)


class RetransmissionTimeout:
    """RFC 6298's estimator: how long to wait for an answer on this link."""

    def __init__(self, floor: float, ceiling: float) -> None:
        self._floor = min(floor, ceiling)
        self._ceiling = ceiling
        self._srtt: float | None = None
        self._rttvar = 0.0

    def sample(self, rtt: float) -> None:
        if self._srtt is None:
            self._srtt, self._rttvar = rtt, rtt / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - rtt)
            self._srtt = 0.875 * self._srtt + 0.125 * rtt

    @property
    def seconds(self) -> float:
        if self._srtt is None:
            return self._ceiling
        return min(self._ceiling, max(self._floor, self._srtt + 4 * self._rttvar))

    @property
    def smoothed(self) -> float | None:
        """The smoothed RTT (None: no answer timed yet)."""
        return self._srtt


class StunHeartbeat:
    def __init__(
        self,
        pc: RTCPeerConnection,
        channel: RTCDataChannel,
        prober: StunProber,
        interval: float,
        timeout: float,
        sink: HeartbeatSink,
    ) -> None:
        self._pc = pc
        self._channel = channel
        self._prober = prober
        self._interval = interval
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._rto = RetransmissionTimeout(FLOOR_SECONDS, timeout)
        self._pair: ProbedPair | None = None
        self._pending: dict[int, tuple[float, float]] = {}  # probe → sent, its timeout
        self._missed: dict[int, None] = {}  # the latest probes counted missed, oldest first
        self._heard_from = 0.0  # when the newest probe that was answered was sent
        self._confirmation = 0  # suspect: the confirmation awaited now (0: not suspect)
        self._suspected = 0  # the probe whose lateness made the site suspect
        self._pace = PING_PACE
        self._last_ping = 0.0
        self._application_heard = 0.0  # the last pong or report
        self._ended = asyncio.Event()  # the channel closed, or the agent's application is silent
        self._seq = 0
        self._running = False
        self._paused = False
        # The prober's actions, each bound once: a method bound at every `call_at` made three
        # objects per site and second that lived about a heartbeat, for the young garbage
        # collections to walk (docs/BENCHMARKS.md).
        self._tick_action = self._tick
        self._suspect_action = self._suspect
        self._expire_action = self._expire
        self._miss_action = self._miss
        channel.on("message", self._on_message)

    def pause(self) -> None:
        """No more probes, and nothing counted of those in flight; the connection stays open
        (the monitor is stopping: see Heartbeat.pause)."""
        self._paused = True
        self._running = False
        self._pending.clear()

    async def run(self) -> None:
        """Probe until the channel closes (or the task is cancelled)."""
        self._channel.on("close", self._ended.set)
        self._pair = probe_pair(self._pc, self)
        if self._pair is None or self._channel.readyState != "open":
            return
        if not self._paused:  # (a monitor stopping before the first probe never sends one)
            self._running = True
            self._application_heard = self._loop.time()
            self._keepalive()
            # The first request at once, as the echo's first ping: the window the connection
            # opens in is judged on an answer. Then sites run at random phases: their
            # requests spread over the interval.
            self._heartbeat()
            start = self._loop.time() + random.uniform(0, self._interval)
            self._prober.call_at(start, self._tick_action)
        try:
            await self._ended.wait()
        finally:
            self._running = False
            self._pending.clear()
            self._pair.close()

    # -- scheduled by the prober ---------------------------------------------------------

    def _tick(self, _: int = 0) -> None:
        if not self._running:
            return
        now = self._loop.time()
        self._prober.call_at(now + self._interval, self._tick_action)
        pace = self._pace
        if now >= self._last_ping + pace.interval and now >= self._application_heard + pace.quiet:
            self._keepalive()
        if now - self._application_heard > pace.silence:
            log.info("the agent answers STUN but not on the channel: its application stands still")
            self._ended.set()
            return
        if not self._confirmation:  # a suspect site is probed by its confirmations
            self._heartbeat()

    def _heartbeat(self) -> None:
        """One request, suspected past the site's own timeout, missed past the heartbeat's
        (its expiry is set when it is suspected: most requests are answered before)."""
        probe = self._send(1, self._timeout)
        self._prober.call_at(self._loop.time() + self._rto.seconds, self._suspect_action, probe)

    def _probe(self, copies: int, timeout: float) -> int:
        """Send a probe that counts missed if unanswered within `timeout`."""
        probe = self._send(copies, timeout)
        self._prober.call_at(self._loop.time() + timeout, self._expire_action, probe)
        return probe

    def _send(self, copies: int, timeout: float) -> int:
        assert self._pair is not None
        probe = self._pair.send(copies)
        self._pending[probe] = (time.perf_counter(), timeout)
        return probe

    def _suspect(self, probe: int) -> None:
        """Past the site's own timeout: the request's expiry is set, and unless a confirmation
        runs already, it is confirmed at once. Even just after the monitor stood still, when
        the answer may be waiting unread: a suspicion costs four requests and counts nothing,
        and the confirmation's own expiry waits out a stall before it counts (at 1,000 sites
        some stall of 20 ms ends within most probes' flight, and skipping those left a dead
        agent to the heartbeat timeout)."""
        pending = self._pending.get(probe)
        if pending is None or not self._running:
            return
        sent, timeout = pending
        expiry = self._loop.time() + max(0.0, sent + timeout - time.perf_counter())
        self._prober.call_at(expiry, self._expire_action, probe)
        if self._confirmation:
            return
        self._suspected = probe
        self._confirmation = self._probe(CONFIRM_COPIES, self._rto.seconds)

    def _expire(self, probe: int) -> None:
        if probe not in self._pending:
            return
        sent, timeout = self._pending[probe]
        late = time.perf_counter() - sent - timeout
        if late < 0:
            # Due by the loop's clock, which stood at the start of the turn that sent the
            # probe: a long turn would have shortened its timeout.
            self._prober.call_at(self._loop.time() - late, self._expire_action, probe)
            return
        if late > STALL_SECONDS or OWN_STALLS.stalled_since(sent):
            wait = min(timeout, max(late, STALL_SECONDS))
            self._prober.call_at(self._loop.time() + wait, self._miss_action, probe)
        else:
            self._miss(probe)

    def _miss(self, probe: int) -> None:
        if probe not in self._pending or not self._running:
            return
        if probe == self._confirmation:
            # Confirmed: the suspect probe counts missed now, not at the heartbeat timeout.
            self._count_missed(self._suspected)
            self._count_missed(probe)
            if self._running:  # the misses may have ended the connection
                self._confirmation = self._probe(CONFIRM_COPIES, self._rto.seconds)
        else:
            self._count_missed(probe)

    def _count_missed(self, probe: int) -> None:
        pending = self._pending.pop(probe, None)
        if pending is None or not self._running:
            return
        self._missed[probe] = None
        if len(self._missed) > MISSES_REMEMBERED:
            del self._missed[next(iter(self._missed))]
        sent, _ = pending
        # A request lost, then its confirmation answered: it still counts missed at the
        # heartbeat timeout, after that answer. Counted in a row, it joined the next request's
        # and confirmation's misses: a false down needed five lost round trips, not seven
        # (~10⁻⁵ per heartbeat at 5 % loss each way, some every minute at 1,000 sites).
        if sent < self._heard_from:
            self._sink.overtaken()
        else:
            self._sink.missed()

    # -- answers --------------------------------------------------------------------------

    def answered(self, probe: int, sent: float) -> None:
        """The prober matched an answer to probe `probe` (each copy of it, in fact)."""
        if not self._running:
            return
        awaited = self._pending.pop(probe, None) is not None
        late = not awaited and probe in self._missed
        self._missed.pop(probe, None)
        if not awaited and not late:
            return  # another copy of an answered probe, or a confirmation no longer needed
        self._heard_from = max(self._heard_from, sent)
        rtt = None if OWN_STALLS.stalled_since(sent) else time.perf_counter() - sent
        if rtt is not None:
            self._rto.sample(rtt)  # late ones too: they say the timeout was too short
        confirmation = probe == self._confirmation
        if self._confirmation:  # not suspect any more: drop the confirmation awaited
            self._pending.pop(self._confirmation, None)
            self._confirmation = self._suspected = 0
        if late:  # the answer to a request counted missed: the site lives, the link is slow
            self._sink.late()
        else:  # a confirmation's answer says the site lives; it is no heartbeat of the window
            self._sink.answered(None if confirmation else rtt)

    def evidence(self) -> dict[str, float | None]:
        """What the site was judged on when it was counted lost, for the log: a site called
        down while its agent lived should say whether its answers were late or missing."""
        now = time.perf_counter()
        srtt = self._rto.smoothed
        return {
            "rtt_ms": None if srtt is None else round(srtt * 1000, 1),
            "timeout_ms": round(self._rto.seconds * 1000, 1),
            "newest_answered_sent_s_ago": round(now - self._heard_from, 3)
            if self._heard_from
            else None,
            "monitor_stalled_s_ago": round(now - OWN_STALLS.last_end, 3)
            if OWN_STALLS.last_end
            else None,
        }

    def _keepalive(self) -> None:
        self._last_ping = self._loop.time()
        self._seq += 1
        try:
            self._channel.send(encode(Ping(seq=self._seq, t=time.time())))
        except Exception:  # the transport went away: the probes say what that means
            return

    def _on_message(self, raw: str | bytes) -> None:
        message = decode(raw)
        if isinstance(message, Pong):
            self._application_heard = self._loop.time()
        elif isinstance(message, Report):
            self._application_heard = self._loop.time()
            if message.stun_keepalive:
                self._pace = SPARSE_PING_PACE
            self._sink.reported(message)
