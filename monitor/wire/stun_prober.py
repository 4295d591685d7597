"""A lean STUN prober: binding requests on many selected pairs, with one timer for them all.

aioice runs each STUN transaction as a coroutine with its own future and retransmission timer
(and a caller adds a task and a timeout); at a thousand sites probed every second that
bookkeeping costs more than the packets. Here one `StunProber` keeps what is due (a site's next
probe, a probe's deadline) in slots of one `TICK_SECONDS` each, and wakes once per slot at most;
a request is bytes sent on the pair's own socket, and its answer is read off that socket before
aioice parses it: the `ProbedPair` takes the datagrams that carry the transaction id of a
request it has outstanding, and hands every other to aioice. The pair's own consent checks
(every ~5 s) stop: the probes are consent checks (RFC 7675), only more frequent. Besides the
pair and the consent checks (`monitor.wire.ice_path`), this reads a private attribute of
aioice's `Connection`, its tie-breaker, and stands before the `datagram_received` of the pair's
`StunProtocol` (checked against aioice 0.13).
"""

import asyncio
import heapq
import itertools
import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol, cast

from aioice.candidate import candidate_priority
from aioice.ice import CandidatePair, Connection
from aiortc import RTCPeerConnection

from monitor.wire.ice_path import selected_pair, stop_consent_checks
from monitor.wire.stun_binding import HEADER_LENGTH, BindingRequests

log = logging.getLogger(__name__)
# Probes and deadlines due within one tick go out together: at a thousand sites a wake-up per
# tick instead of one per event; a deadline is judged at most this late.
TICK_SECONDS = 0.01
# A moment's slot is its time divided by the tick, which floating point makes 122.99999 for a
# moment at the end of tick 123: a millionth of a tick either way is taken as the boundary.
SLOT_ROUNDING = 1e-6
# An answer later than this is no longer matched (the transaction id is forgotten).
FORGET_SECONDS = 10.0


class ProbeListener(Protocol):
    def answered(self, probe: int, sent: float) -> None:
        """An answer to probe `probe`, sent at `sent` (`time.perf_counter()`)."""


class ProbedPair:
    """Binding requests on one selected pair; each probe is one or more requests, answered
    when any of them is."""

    def __init__(
        self, connection: Connection, pair: CandidatePair, listener: ProbeListener
    ) -> None:
        assert connection.remote_username is not None and connection.remote_password is not None
        self.requests = BindingRequests(
            local_ufrag=connection.local_username,
            remote_ufrag=connection.remote_username,
            remote_password=connection.remote_password,
            priority=candidate_priority(pair.component, "prflx"),
            controlling=connection.ice_controlling,
            tie_breaker=connection._tie_breaker,
        )
        self._protocol = pair.protocol
        self._address = pair.remote_addr
        self._listener = listener
        self._outstanding: dict[bytes, tuple[int, float]] = {}  # transaction id → probe, sent
        self._probes = itertools.count(1)
        self._aioice_received = pair.protocol.datagram_received
        pair.protocol.datagram_received = self._datagram_received  # type: ignore[method-assign]

    def send(self, copies: int = 1) -> int:
        """Send a probe of `copies` requests now; returns its number (answers name it)."""
        probe = next(self._probes)
        sent = time.perf_counter()
        self._forget(sent - FORGET_SECONDS)
        for _ in range(copies):
            transaction_id = secrets.token_bytes(12)
            self._outstanding[transaction_id] = (probe, sent)
            try:
                self._protocol.transport.sendto(self.requests.build(transaction_id), self._address)
            except Exception:  # the socket is closing: the probe goes unanswered
                log.debug("probe not sent", exc_info=True)
        return probe

    def _datagram_received(self, data: bytes | str, addr: tuple[Any, ...]) -> None:
        """What the pair's socket read: an answer to one of our requests is ours (a response
        whose transaction id, bytes 8 to 20, we have outstanding), anything else aioice's."""
        datagram = cast(bytes, data)  # a datagram socket reads bytes
        transaction_id = datagram[8:HEADER_LENGTH]
        entry = self._outstanding.get(transaction_id)
        if entry is None:
            self._aioice_received(datagram, addr)
        elif self.requests.answers(datagram):
            del self._outstanding[transaction_id]
            probe, sent = entry
            # The other copies of this probe may still be answered; the listener ignores them.
            self._listener.answered(probe, sent)

    def close(self) -> None:
        self._outstanding.clear()
        self._protocol.datagram_received = self._aioice_received  # type: ignore[method-assign]

    def _forget(self, before: float) -> None:
        stale = [tid for tid, (_, sent) in self._outstanding.items() if sent < before]
        for transaction_id in stale:
            del self._outstanding[transaction_id]


def probe_pair(pc: RTCPeerConnection, listener: ProbeListener) -> ProbedPair | None:
    """Probe the pair ICE selected for `pc`'s data channel instead of aioice's own consent
    checks; None when nothing is selected (the connection is gone)."""
    selected = selected_pair(pc)
    if selected is None:
        return None
    connection, pair = selected
    stop_consent_checks(connection)
    return ProbedPair(connection, pair, listener)


class StunProber:
    """One timer for the probes of every site: `call_at` runs an action at (or within a tick
    after) a moment of the event loop's clock, in time order tick by tick, and in the order
    they were asked within one tick.

    A timing wheel's slots: slot k holds what is due in the tick that ends at k ticks of the
    loop's clock, and only the slots' numbers are in a heap. At a thousand sites three actions
    per site and second fall into ~100 slots a second, so the heap sees a hundred pushes, not
    three thousand (each a comparison of tuples at every level)."""

    def __init__(self, tick_seconds: float = TICK_SECONDS) -> None:
        self._tick = tick_seconds
        self._slots: dict[int, list[tuple[Callable[[int], None], int]]] = {}
        self._slot_numbers: list[int] = []  # a heap of the keys of `_slots`
        self._wake: asyncio.TimerHandle | None = None
        self._wake_slot = 0

    def call_at(self, when: float, action: Callable[[int], None], argument: int = 0) -> None:
        slot = math.ceil(when / self._tick - SLOT_ROUNDING)
        actions = self._slots.get(slot)
        if actions is None:
            self._slots[slot] = actions = []
            heapq.heappush(self._slot_numbers, slot)
            if self._wake is None or slot < self._wake_slot:
                self._arm(slot)
        actions.append((action, argument))

    def _arm(self, slot: int) -> None:
        if self._wake is not None:
            self._wake.cancel()
        self._wake_slot = slot
        self._wake = asyncio.get_running_loop().call_at(slot * self._tick, self._run_due)

    def _run_due(self) -> None:
        self._wake_slot = -1  # what the actions ask for is run now, or armed for once at the end
        now = math.floor(asyncio.get_running_loop().time() / self._tick + SLOT_ROUNDING)
        numbers = self._slot_numbers
        while numbers and numbers[0] <= now:
            # What an action asks for within this tick makes a slot of its own, run next.
            for action, argument in self._slots.pop(heapq.heappop(numbers)):
                try:
                    action(argument)
                except Exception:
                    log.exception("probe action failed")
        self._wake = None
        if numbers:
            self._arm(numbers[0])

    def close(self) -> None:
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        self._slots.clear()
        self._slot_numbers.clear()
