"""Userspace network impairment for UDP on one machine: loss, delay, jitter, black hole.

Why this exists
---------------
BridgeWatch has to tell a healthy bridge point from one whose link is lossy, slow or dead, so
its tests and demos need links that are lossy, slow or dead *on purpose*. The usual tool,
``tc qdisc ... netem``, is not available on this kernel (and would need root, and would impair
every loopback packet on the box at once). This module does the same job in user space, for
exactly one peer-to-peer path: a :class:`UdpRelay` sits between two UDP endpoints on loopback and
drops or delays each datagram according to an :class:`Impairment` that can be changed while
traffic flows (to make a link flap).

Putting a relay between two WebRTC peers
----------------------------------------
An ICE agent only sends to the addresses it finds in the remote description, so the relays are
inserted by rewriting the candidates of **both** descriptions::

    offer2, relays_a = await relay_candidates(offerer.localDescription.sdp, impairment)
    await answerer.setRemoteDescription(RTCSessionDescription(offer2, "offer"))
    ...  # answerer.setLocalDescription(await answerer.createAnswer())
    answer2, relays_b = await relay_candidates(answerer.localDescription.sdp, impairment)
    await offerer.setRemoteDescription(RTCSessionDescription(answer2, "answer"))

Rewriting only one of them is not enough: the peer that got the untouched description would run
checks straight at the other's real address, and ICE could nominate that direct, unimpaired pair.
With both rewritten, each peer knows only the other's relay fronts, and every address it can
learn besides is a relay back socket: the other peer's checks arrive from one, so ICE adds it as a
peer-reflexive candidate. Whichever pair ICE nominates, each datagram therefore crosses exactly
one relay and the one-way delay is ``delay_seconds``, not twice that. (With aioice, each peer keeps
sending to the front it was told about, so the offerer's traffic crosses the answer's relays and
the answerer's crosses the offer's: change the impairment on both lists to impair a link both
ways.) ICE traffic (STUN checks, consent freshness) is impaired like the rest: a
:data:`BLACKHOLE` on a connected aiortc link makes aioice give up consent after about 30 s, and
aiortc then reports the connection as "closed" (not "failed").

Limits: this is a test and demo tool for loopback. A relay opens one socket per distinct source
and keeps it until :meth:`UdpRelay.close`, and jitter reorders datagrams (as netem's does).
"""

import asyncio
import ipaddress
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self

logger = logging.getLogger(__name__)

Address = tuple[str, int]
_CANDIDATE = "a=candidate:"


@dataclass(frozen=True)
class Impairment:
    """What happens to each datagram, independently and in each direction."""

    loss: float = 0.0
    """Probability (0..1) that a datagram is dropped."""
    delay_seconds: float = 0.0
    """One-way delay added to every datagram that is not dropped."""
    jitter_seconds: float = 0.0
    """Upper bound of a uniform random delay added on top of ``delay_seconds``."""

    NONE: ClassVar["Impairment"]

    def __post_init__(self) -> None:
        # Negated comparisons rather than `x < 0` so that NaN is rejected too.
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be a probability in [0, 1], got {self.loss!r}")
        for name, value in (
            ("delay_seconds", self.delay_seconds),
            ("jitter_seconds", self.jitter_seconds),
        ):
            if not (value >= 0.0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


Impairment.NONE = Impairment()
BLACKHOLE = Impairment(loss=1.0)
"""Every datagram is dropped, both ways: the link is dead."""


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple[Any, ...]], None]) -> None:
        self._on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # A target that has gone away answers with ICMP "port unreachable"; for a relay that is
        # just a lost datagram, as it would be on a real network, not a reason to stop.
        logger.debug("relay socket error: %s", exc)


class _Back:
    """The relay's face towards the target on behalf of one source."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        # Opening a socket is asynchronous; what must go out before it is open waits here.
        self.backlog: list[bytes] = []
        self.failed = False


class UdpRelay:
    """A symmetric UDP relay on loopback that impairs the traffic crossing it.

    Whatever a source sends to :attr:`front` goes to the target from a socket of that source's
    own (its "back" socket), and whatever the target sends back to that socket comes out of
    :attr:`front` to that source. Use :meth:`start` to create one.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target: Address,
        impairment: Impairment,
        host: str,
        seed: int | None,
    ) -> None:
        self._loop = loop
        self._target = target
        self._host = host
        self.impairment = impairment
        # Not for security: a per-relay generator so a seed makes a test reproducible.
        self._rng = random.Random(seed)
        self._front: asyncio.DatagramTransport | None = None
        self._front_address: Address = (host, 0)
        self._backs: dict[tuple[Any, ...], _Back] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._forwarded = 0
        self._dropped = 0
        self._closed = False

    @classmethod
    async def start(
        cls,
        target: Address,
        impairment: Impairment,
        host: str = "127.0.0.1",
        *,
        seed: int | None = None,
    ) -> Self:
        """Bind the front socket on ``(host, 0)`` and relay what it receives to ``target``."""
        loop = asyncio.get_running_loop()
        relay = cls(loop, target, impairment, host, seed)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Endpoint(relay._from_source), local_addr=(host, 0)
        )
        relay._front = transport
        sockname = transport.get_extra_info("sockname")
        relay._front_address = (sockname[0], sockname[1])
        return relay

    @property
    def front(self) -> Address:
        """The address to send to instead of the target."""
        return self._front_address

    @property
    def target(self) -> Address:
        return self._target

    @property
    def impairment(self) -> Impairment:
        return self._impairment

    @impairment.setter
    def impairment(self, impairment: Impairment) -> None:
        # Takes effect for datagrams received from now on; those already delayed keep the
        # delivery time they were given.
        if not isinstance(impairment, Impairment):
            raise TypeError(f"expected an Impairment, got {impairment!r}")
        self._impairment = impairment

    @property
    def forwarded(self) -> int:
        """Datagrams handed to a socket for delivery, both directions together."""
        return self._forwarded

    @property
    def dropped(self) -> int:
        """Datagrams discarded by the impairment, both directions together."""
        return self._dropped

    @property
    def in_flight(self) -> int:
        """Datagrams accepted by the impairment but not yet handed to a socket."""
        return len(self._timers) + sum(len(back.backlog) for back in self._backs.values())

    def close(self) -> None:
        """Close every socket and forget every datagram still in flight. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        for back in self._backs.values():
            back.backlog.clear()
            if back.transport is not None:
                back.transport.close()
        self._backs.clear()
        if self._front is not None:
            self._front.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"UdpRelay(front={self.front}, target={self._target}, impairment={self._impairment},"
            f" forwarded={self._forwarded}, dropped={self._dropped}, closed={self._closed})"
        )

    # Source -> target.

    def _from_source(self, data: bytes, source: tuple[Any, ...]) -> None:
        if self._closed:
            return
        back = self._backs.get(source)
        if back is None:
            # Opened on first sight, even if this datagram is dropped, so that the socket is
            # usually ready by the time a delayed datagram is due.
            back = self._backs[source] = _Back()
            task = self._loop.create_task(self._open_back(source, back))
            # The loop only keeps weak references to tasks.
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._impair(lambda: self._to_target(back, data))

    async def _open_back(self, source: tuple[Any, ...], back: _Back) -> None:
        try:
            # Connected, so the kernel already discards what does not come from the target.
            transport, _ = await self._loop.create_datagram_endpoint(
                lambda: _Endpoint(lambda data, addr: self._from_target(source, data, addr)),
                local_addr=(self._host, 0),
                remote_addr=self._target,
            )
        except OSError as exc:
            logger.warning("relay %s cannot reach %s: %s", self.front, self._target, exc)
            # What is still on its way to this socket is lost; the next datagram from the same
            # source tries a new one.
            back.failed = True
            back.backlog.clear()
            if self._backs.get(source) is back:
                del self._backs[source]
            return
        if self._closed:
            transport.close()
            return
        back.transport = transport
        for data in back.backlog:
            transport.sendto(data)
            self._forwarded += 1
        back.backlog.clear()

    def _to_target(self, back: _Back, data: bytes) -> None:
        if back.failed:
            return
        if back.transport is None:
            back.backlog.append(data)
            return
        back.transport.sendto(data)
        self._forwarded += 1

    # Target -> source.

    def _from_target(self, source: tuple[Any, ...], data: bytes, addr: tuple[Any, ...]) -> None:
        # The socket is connected, but a relay that answered strangers would give ICE a path
        # around the impairment, so check rather than trust.
        back = self._backs.get(source)
        if self._closed or back is None or back.transport is None:
            return
        if addr[:2] != back.transport.get_extra_info("peername")[:2]:
            return
        self._impair(lambda: self._to_source(source, data))

    def _to_source(self, source: tuple[Any, ...], data: bytes) -> None:
        if self._front is None or self._front.is_closing():
            return
        self._front.sendto(data, source)
        self._forwarded += 1

    # Both directions.

    def _impair(self, deliver: Callable[[], None]) -> None:
        impairment = self._impairment
        if impairment.loss > 0.0 and self._rng.random() < impairment.loss:
            self._dropped += 1
            return
        delay = impairment.delay_seconds
        if impairment.jitter_seconds > 0.0:
            delay += self._rng.uniform(0.0, impairment.jitter_seconds)
        if delay <= 0.0:
            # Immediately rather than via call_soon, so an unimpaired relay keeps the order.
            deliver()
            return

        def fire() -> None:
            self._timers.discard(timer)
            deliver()

        timer = self._loop.call_later(delay, fire)
        self._timers.add(timer)


async def relay_candidates(
    sdp: str, impairment: Impairment, host: str = "127.0.0.1"
) -> tuple[str, list[UdpRelay]]:
    """Route every UDP ICE candidate of ``sdp`` through a :class:`UdpRelay` bound on ``host``.

    ``host`` must be an IP address (not a name), since candidates are matched against its family.

    Each UDP ``a=candidate:`` line gets the address and port of its relay's front (one relay per
    distinct address and port); the rest of the line is kept. An ``m=`` port and its ``c=``
    address are rewritten too when they are a relayed candidate (the default candidate). TCP
    candidates are left alone. Returns the new SDP and the relays, which the caller must close.

    Raises ValueError for a UDP candidate that cannot be relayed (a hostname such as an mDNS
    ``.local`` name, or an address family other than ``host``'s): leaving it in place would let
    the peers talk around the impairment. No relay is left open when it raises.
    """
    host_version = ipaddress.ip_address(host).version
    lines = sdp.splitlines(keepends=True)
    bodies = [line.rstrip("\r\n") for line in lines]
    endings = [line[len(body) :] for line, body in zip(lines, bodies, strict=True)]
    relays: dict[Address, UdpRelay] = {}
    try:
        for index, body in enumerate(bodies):
            if not body.startswith(_CANDIDATE):
                continue
            fields = body[len(_CANDIDATE) :].split(" ")
            if len(fields) < 8 or not fields[5].isdigit() or fields[6] != "typ":
                raise ValueError(f"malformed candidate line: {body!r}")
            if fields[2].lower() != "udp":
                continue
            address = _ip_literal(fields[4], host_version, body)
            key = (address, int(fields[5]))
            relay = relays.get(key)
            if relay is None:
                relay = relays[key] = await UdpRelay.start(key, impairment, host)
            fields[4], fields[5] = relay.front[0], str(relay.front[1])
            bodies[index] = _CANDIDATE + " ".join(fields)
        _rewrite_defaults(bodies, relays)
    except BaseException:
        for relay in relays.values():
            relay.close()
        raise
    return "".join(b + e for b, e in zip(bodies, endings, strict=True)), list(relays.values())


def _ip_literal(address: str, version: int, line: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"cannot relay a candidate whose address is not an IP: {line!r}") from None
    if ip.version != version:
        raise ValueError(f"cannot relay an IPv{ip.version} candidate from IPv{version}: {line!r}")
    # Normalised so that the `c=` line, written by the same peer, compares equal.
    return str(ip)


def _rewrite_defaults(bodies: list[str], relays: dict[Address, UdpRelay]) -> None:
    """Rewrite, in place, each media section's `m=` port and `c=` address if they are relayed."""
    starts = [i for i, body in enumerate(bodies) if body.startswith("m=")]
    session_c = next((i for i in range(starts[0] if starts else 0) if _is_c(bodies[i])), None)
    for start, end in zip(starts, [*starts[1:], len(bodies)], strict=True):
        # A media-level c= overrides the session-level one (RFC 8866 section 5.7).
        c_index = next((i for i in range(start + 1, end) if _is_c(bodies[i])), session_c)
        if c_index is None:
            continue
        m_fields = bodies[start].split(" ")
        c_fields = bodies[c_index].split(" ")
        if len(m_fields) < 2 or len(c_fields) != 3:
            continue
        port, slash, count = m_fields[1].partition("/")
        try:
            key = (str(ipaddress.ip_address(c_fields[2])), int(port))
        except ValueError:
            continue
        relay = relays.get(key)
        if relay is None:
            continue
        front_host, front_port = relay.front
        m_fields[1] = f"{front_port}{slash}{count}"
        bodies[start] = " ".join(m_fields)
        c_fields[1] = f"IP{ipaddress.ip_address(front_host).version}"
        c_fields[2] = front_host
        bodies[c_index] = " ".join(c_fields)


def _is_c(body: str) -> bool:
    return body.startswith("c=")


class ImpairedPath:
    """One site's simulated link: every WebRTC session it carries goes through UDP relays with
    this impairment, which may change while the sessions live (the demo's flapping sites).

    Handed to a `SiteAgent` as its detour, so the agent never needs to know of simulation.
    """

    def __init__(self, impairment: Impairment = Impairment.NONE) -> None:
        self._impairment = impairment
        self._relays: set[UdpRelay] = set()

    @property
    def impairment(self) -> Impairment:
        return self._impairment

    @impairment.setter
    def impairment(self, impairment: Impairment) -> None:
        self._impairment = impairment
        for relay in self._relays:
            relay.impairment = impairment

    async def route(self, sdp: str) -> tuple[str, Callable[[], None]]:
        """`sdp` with its candidates pointing through new relays, and what closes them."""
        rewritten, relays = await relay_candidates(sdp, self._impairment)
        self._relays.update(relays)

        def close() -> None:
            for relay in relays:
                relay.close()
                self._relays.discard(relay)

        return rewritten, close
