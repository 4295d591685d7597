"""The monitor's side of the heartbeat: a ping every interval, each answered or missed.

Our own heartbeat is the liveness signal because aiortc's ICE consent check needs ~30 s to notice
a dead peer, and its connection state jumps straight to `closed`.
"""

import asyncio
import time
from typing import Protocol

from aiortc import RTCDataChannel

from monitor.probe.stalls import OWN_STALLS
from monitor.wire.protocol import Ping, Pong, Report, decode, encode

# A timer this late means the monitor's loop stood still (CPU starved, a collection):
# the pong may have arrived and be waiting unread behind the timer.
STALL_SECONDS = 0.05


class HeartbeatSink(Protocol):
    def answered(self, rtt_seconds: float | None) -> None:
        """A pong in time; no RTT when the monitor paused meanwhile (it would time the pause)."""

    def missed(self) -> None: ...
    def overtaken(self) -> None:
        """Missed, but a heartbeat sent after it was answered already: the window counts it
        lost, yet the site has answered since, so it is no miss in a row."""

    def late(self) -> None:
        """A pong came after its ping was counted missed: the peer is alive, the link is slow."""

    def reported(self, report: Report) -> None: ...


class Heartbeat:
    def __init__(
        self, channel: RTCDataChannel, interval: float, timeout: float, sink: HeartbeatSink
    ) -> None:
        self._channel = channel
        self._interval = interval
        self._timeout = timeout
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self._pending: dict[int, float] = {}
        self._seq = 0
        self._paused = False
        channel.on("message", self._on_message)

    def pause(self) -> None:
        """No more pings, and nothing counted of those in flight; the connection stays open.
        A stopping monitor pauses every heartbeat first: a loop saturated by pings would
        starve the last writes and the hand-over that must come before the connections close."""
        self._paused = True
        self._pending.clear()

    async def run(self) -> None:
        """Ping until the channel closes (or the task is cancelled)."""
        next_at = self._loop.time()
        try:
            while self._channel.readyState == "open":
                self._ping()
                # Schedule against the clock, not after the previous sleep: no drift.
                next_at += self._interval
                await asyncio.sleep(max(0.0, next_at - self._loop.time()))
        finally:
            # Expiry timers still pending find nothing to expire: a finished heartbeat
            # never counts misses against the next connection.
            self._pending.clear()

    def _ping(self) -> None:
        if self._paused:
            return
        self._seq += 1
        seq = self._seq
        # Not loop.time(): under uvloop it is cached per loop iteration at 1 ms resolution,
        # which turns loopback RTTs into 0.0 and quantises every other one.
        self._pending[seq] = time.perf_counter()
        try:
            self._channel.send(encode(Ping(seq=seq, t=time.time())))
        except Exception:  # the transport went away between the check and the send
            self._pending.pop(seq, None)
            self._sink.missed()
            return
        self._loop.call_later(self._timeout, self._expire, seq)

    def _expire(self, seq: int) -> None:
        sent = self._pending.get(seq)
        if sent is None:
            return
        late = time.perf_counter() - sent - self._timeout
        if late > STALL_SECONDS or OWN_STALLS.stalled_since(sent):
            # Judge once the loop has caught up with what queued while it stood still.
            self._loop.call_later(min(self._timeout, max(late, STALL_SECONDS)), self._miss, seq)
        else:
            self._miss(seq)

    def _miss(self, seq: int) -> None:
        if self._pending.pop(seq, None) is not None:
            self._sink.missed()

    def evidence(self) -> dict[str, float | None]:
        """What the site was judged on when it was counted lost, for the log."""
        return {"pings_unanswered": len(self._pending)}

    def _on_message(self, raw: str | bytes) -> None:
        if self._paused:
            return
        message = decode(raw)
        if isinstance(message, Pong):
            sent = self._pending.pop(message.seq, None)
            if sent is not None:
                rtt = None if OWN_STALLS.stalled_since(sent) else time.perf_counter() - sent
                self._sink.answered(rtt)
            elif 0 < message.seq <= self._seq:
                self._sink.late()
        elif isinstance(message, Report):
            self._sink.reported(message)
