"""The userspace impairment relay, over real UDP sockets on 127.0.0.1 only."""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from monitor.simulation.link import BLACKHOLE, Impairment, UdpRelay, relay_candidates

LOOPBACK = "127.0.0.1"
# Upper bound of any wait for something that should happen; the box is small and busy.
PATIENCE = 10.0
# How long to listen before concluding that nothing is coming.
QUIET = 0.3


class Socket(asyncio.DatagramProtocol):
    """A UDP socket on loopback that records what it receives, optionally echoing it."""

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo
        self.received: list[tuple[bytes, tuple[Any, ...]]] = []
        self.sent = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: Python 3.11's selector datagram transport does not subclass
        # DatagramTransport (fixed in 3.12).
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.received.append((data, addr))
        if self.echo and self.transport is not None:
            self.transport.sendto(data, addr)

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    @property
    def payloads(self) -> list[bytes]:
        return [data for data, _ in self.received]

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, to)
        self.sent += 1


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def _round_trip(client: Socket, relay: UdpRelay, payload: bytes) -> float:
    loop = asyncio.get_running_loop()
    before = len(client.received)
    started = loop.time()
    client.send(payload, relay.front)
    await _until(lambda: len(client.received) > before, "the echo")
    assert client.received[-1] == (payload, relay.front)
    return loop.time() - started


@pytest.fixture
async def sockets() -> AsyncIterator[Callable[..., Any]]:
    opened: list[asyncio.DatagramTransport] = []

    async def open_socket(echo: bool = False) -> Socket:
        transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: Socket(echo), local_addr=(LOOPBACK, 0)
        )
        opened.append(transport)
        return protocol

    yield open_socket
    for transport in opened:
        transport.close()


@pytest.fixture
async def relays() -> AsyncIterator[list[UdpRelay]]:
    """Relays to close after the test, even when it fails."""
    started: list[UdpRelay] = []
    yield started
    for relay in started:
        relay.close()


async def _echo_setup(
    sockets: Callable[..., Any], relays: list[UdpRelay], impairment: Impairment, seed: int = 0
) -> tuple[Socket, Socket, UdpRelay]:
    server: Socket = await sockets(echo=True)
    client: Socket = await sockets()
    relay = await UdpRelay.start(server.address, impairment, seed=seed)
    relays.append(relay)
    return server, client, relay


@pytest.mark.parametrize(
    "kwargs",
    [
        {"loss": -0.1},
        {"loss": 1.5},
        {"loss": float("nan")},
        {"delay_seconds": -1.0},
        {"delay_seconds": float("inf")},
        {"jitter_seconds": -0.5},
        {"jitter_seconds": float("nan")},
    ],
)
def test_impairment_rejects_out_of_range_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Impairment(**kwargs)


def test_impairment_defaults() -> None:
    assert Impairment(loss=0.0, delay_seconds=0.0, jitter_seconds=0.0) == Impairment.NONE
    assert BLACKHOLE.loss == 1.0


async def test_unimpaired_relay_echoes_everything(
    sockets: Callable[..., Any], relays: list[UdpRelay]
) -> None:
    server, client, relay = await _echo_setup(sockets, relays, Impairment.NONE)
    sent = [f"datagram {i}".encode() for i in range(200)]
    # In bursts small enough for loopback socket buffers, which would otherwise drop for real.
    for start in range(0, len(sent), 20):
        for payload in sent[start : start + 20]:
            client.send(payload, relay.front)
        await _until(lambda: len(client.received) == client.sent, "the burst's echoes")

    assert client.payloads == sent
    assert {addr for _, addr in client.received} == {relay.front}
    # The server sees one back socket, not the client.
    assert len({addr for _, addr in server.received}) == 1
    assert server.received[0][1] != client.address
    assert relay.forwarded == 400
    assert relay.dropped == 0


async def test_loss_drops_the_expected_fraction(
    sockets: Callable[..., Any], relays: list[UdpRelay]
) -> None:
    sink: Socket = await sockets()
    client: Socket = await sockets()
    relay = await UdpRelay.start(sink.address, Impairment(loss=0.3), seed=1234)
    relays.append(relay)
    total = 2000
    for start in range(0, total, 100):
        for i in range(start, start + 100):
            client.send(i.to_bytes(4, "big"), relay.front)
        await _until(lambda: relay.forwarded + relay.dropped == client.sent, "the relay")
    await _until(lambda: len(sink.received) == relay.forwarded, "the sink")
    await asyncio.sleep(0.05)  # Nothing more arrives than was forwarded.

    assert relay.forwarded + relay.dropped == total
    assert len(sink.received) == relay.forwarded
    arrived = [int.from_bytes(data, "big") for data in sink.payloads]
    assert len(set(arrived)) == len(arrived)
    assert set(arrived) <= set(range(total))
    assert 0.25 <= relay.dropped / total <= 0.35


async def test_delay_applies_in_both_directions(
    sockets: Callable[..., Any], relays: list[UdpRelay]
) -> None:
    _, client, relay = await _echo_setup(sockets, relays, Impairment(delay_seconds=0.1))
    assert await _round_trip(client, relay, b"ping") >= 0.2


async def test_jitter_stays_within_its_bound(
    sockets: Callable[..., Any], relays: list[UdpRelay]
) -> None:
    _, client, relay = await _echo_setup(
        sockets, relays, Impairment(delay_seconds=0.02, jitter_seconds=0.03)
    )
    for i in range(5):
        assert await _round_trip(client, relay, f"ping {i}".encode()) >= 0.04


async def test_blackhole_delivers_nothing(
    sockets: Callable[..., Any], relays: list[UdpRelay]
) -> None:
    server, client, relay = await _echo_setup(sockets, relays, BLACKHOLE)
    for i in range(20):
        client.send(f"lost {i}".encode(), relay.front)
    await _until(lambda: relay.dropped == 20, "the relay to drop everything")
    await asyncio.sleep(QUIET)

    assert server.received == []
    assert client.received == []
    assert relay.forwarded == 0


async def test_impairment_can_change_at_run_time(
    sockets: Callable[..., Any], relays: list[UdpRelay]
) -> None:
    server, client, relay = await _echo_setup(sockets, relays, Impairment.NONE)
    await _round_trip(client, relay, b"up")

    relay.impairment = BLACKHOLE
    for _ in range(5):
        client.send(b"down", relay.front)
    await _until(lambda: relay.dropped == 5, "the relay to drop")
    await asyncio.sleep(QUIET)
    assert client.payloads == [b"up"]
    assert server.payloads == [b"up"]

    relay.impairment = Impairment(delay_seconds=0.1)
    assert await _round_trip(client, relay, b"slow") >= 0.2

    relay.impairment = Impairment.NONE
    await _round_trip(client, relay, b"up again")
    assert relay.dropped == 5


async def test_answers_from_the_target_are_impaired_too(
    sockets: Callable[..., Any], relays: list[UdpRelay]
) -> None:
    # Only the target's answers are lost: the relay must apply its impairment per direction.
    server, client, relay = await _echo_setup(sockets, relays, Impairment.NONE)
    await _round_trip(client, relay, b"open the back socket")
    relay.impairment = BLACKHOLE
    back = server.received[-1][1]
    server.echo = False
    server.send(b"unsolicited", back)
    await _until(lambda: relay.dropped == 1, "the relay to drop the answer")
    await asyncio.sleep(QUIET)
    assert client.payloads == [b"open the back socket"]


async def test_back_socket_ignores_strangers(
    sockets: Callable[..., Any], relays: list[UdpRelay]
) -> None:
    server, client, relay = await _echo_setup(sockets, relays, Impairment.NONE)
    await _round_trip(client, relay, b"hello")
    back = server.received[-1][1]
    stranger: Socket = await sockets()
    stranger.send(b"let me in", back)
    await asyncio.sleep(QUIET)
    assert client.payloads == [b"hello"]

    server.send(b"from the target", back)  # The control: the target itself does get through.
    await _until(lambda: len(client.received) == 2, "the target's datagram")
    assert client.payloads == [b"hello", b"from the target"]


async def test_close_cancels_delayed_datagrams_and_is_idempotent(
    sockets: Callable[..., Any], relays: list[UdpRelay]
) -> None:
    server, client, relay = await _echo_setup(sockets, relays, Impairment(delay_seconds=0.1))
    client.send(b"in flight", relay.front)
    await _until(lambda: relay.in_flight == 1, "the relay to hold the datagram")
    relay.close()
    relay.close()
    await asyncio.sleep(0.2)
    assert server.received == []
    assert relay.forwarded == 0
    assert relay.in_flight == 0


SDP = (
    "v=0\r\n"
    "o=- 3912345678 3912345678 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic:WMS *\r\n"
    "m=application 40001 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "a=mid:0\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:65536\r\n"
    "a=candidate:1a2b3c4d 1 udp 2130706431 127.0.0.1 40001 typ host\r\n"
    "a=candidate:5e6f7a8b 1 udp 2130706175 127.0.0.1 40002 typ host generation 0\r\n"
    "a=candidate:9c0d1e2f 1 tcp 1694498815 127.0.0.1 9 typ host tcptype active\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:0123456789abcdefghijkl\r\n"
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
    ":00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
    "a=setup:actpass\r\n"
)


async def test_relay_candidates_rewrites_udp_candidates_only() -> None:
    rewritten, relays = await relay_candidates(SDP, Impairment.NONE)
    try:
        assert [relay.target for relay in relays] == [(LOOPBACK, 40001), (LOOPBACK, 40002)]
        (first, first_port), (second, second_port) = (relay.front for relay in relays)
        assert first == second == LOOPBACK
        assert first_port not in {40001, 40002}
        expected = (
            SDP.replace(
                "udp 2130706431 127.0.0.1 40001 typ host\r\n",
                f"udp 2130706431 127.0.0.1 {first_port} typ host\r\n",
            )
            .replace(
                "udp 2130706175 127.0.0.1 40002 typ host generation 0\r\n",
                f"udp 2130706175 127.0.0.1 {second_port} typ host generation 0\r\n",
            )
            .replace("m=application 40001 ", f"m=application {first_port} ")
        )
        assert rewritten == expected
        assert "a=candidate:9c0d1e2f 1 tcp 1694498815 127.0.0.1 9 typ host tcptype active\r\n" in (
            rewritten
        )
        assert rewritten.count("\r\n") == SDP.count("\r\n") == len(rewritten.splitlines())
    finally:
        for relay in relays:
            relay.close()


async def test_relay_candidates_reuses_a_relay_per_address() -> None:
    # A second media section whose default candidate is the first one's.
    sdp = (
        SDP
        + "m=application 40001 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        + "c=IN IP4 127.0.0.1\r\n"
        + "a=candidate:1a2b3c4d 1 udp 2130706431 127.0.0.1 40001 typ host\r\n"
    )
    rewritten, relays = await relay_candidates(sdp, Impairment.NONE)
    try:
        assert len(relays) == 2
        port = relays[0].front[1]
        assert rewritten.count(f"m=application {port} ") == 2
        assert rewritten.count(f" 127.0.0.1 {port} typ host\r\n") == 2
    finally:
        for relay in relays:
            relay.close()


@pytest.mark.parametrize(
    "candidate",
    [
        "a=candidate:1 1 udp 2130706431 0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f.local 40003 typ host",
        "a=candidate:1 1 udp 2130706431 ::1 40003 typ host",
    ],
)
async def test_relay_candidates_refuses_what_it_cannot_relay(candidate: str) -> None:
    # Leaving such a candidate in place would open a path around the impairment.
    with pytest.raises(ValueError, match="cannot relay"):
        await relay_candidates(SDP + candidate + "\r\n", Impairment.NONE)


async def test_aiortc_data_channel_through_relays(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice never gathers 127.0.0.1 on its own, and no other interface may be used here.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: [LOOPBACK])
    impairment = Impairment(delay_seconds=0.05)
    loop = asyncio.get_running_loop()
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    relays: list[UdpRelay] = []
    try:
        channel = offerer.createDataChannel("probe")
        opened = asyncio.Event()
        echoed: asyncio.Future[str] = loop.create_future()
        channel.on("open", opened.set)

        def on_message(message: str | bytes) -> None:
            if isinstance(message, str) and not echoed.done():
                echoed.set_result(message)

        channel.on("message", on_message)

        def on_datachannel(remote: RTCDataChannel) -> None:
            remote.on("message", remote.send)

        answerer.on("datachannel", on_datachannel)

        await asyncio.wait_for(offerer.setLocalDescription(await offerer.createOffer()), 30)
        offer, offer_relays = await relay_candidates(offerer.localDescription.sdp, impairment)
        relays += offer_relays
        await asyncio.wait_for(
            answerer.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer")), 30
        )
        answer_description = await asyncio.wait_for(answerer.createAnswer(), 30)
        await asyncio.wait_for(answerer.setLocalDescription(answer_description), 30)
        answer, answer_relays = await relay_candidates(answerer.localDescription.sdp, impairment)
        relays += answer_relays
        await asyncio.wait_for(
            offerer.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer")), 30
        )
        # Neither peer was told the other's real address.
        fronts = {f"{host} {port}" for host, port in (relay.front for relay in relays)}
        for description in (offer, answer):
            candidates = re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+ \d+) typ", description)
            assert candidates
            assert set(candidates) <= fronts

        await asyncio.wait_for(opened.wait(), 30)
        started = loop.time()
        channel.send("ping")
        assert await asyncio.wait_for(echoed, 30) == "ping"
        assert loop.time() - started >= 0.1
        assert sum(relay.forwarded for relay in relays) > 0
    finally:
        try:
            await asyncio.wait_for(offerer.close(), 10)
        finally:
            try:
                await asyncio.wait_for(answerer.close(), 10)
            finally:
                for relay in relays:
                    relay.close()
