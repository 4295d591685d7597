"""The site agent: the program at a bridge point that answers the monitor's probes.

It answers pings on the `bridgewatch` data channel at once and reports what it knows of the room.
In pull mode the monitor dials it (see `monitor.agent.http`); in push mode it dials the monitor
and keeps dialling, with capped exponential backoff and jitter, whenever the link drops.

The monitor's STUN binding requests count as signs of life as its pings do, and its report says
so (`stun_keepalive`): a monitor that probes by STUN then pings rarely. The agent's own ICE
consent checks stop: its idle rule notices a silent monitor sooner.
"""

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
)

from monitor.wire.ice_path import ice_connection, on_binding_request, stop_consent_checks
from monitor.wire.media import TestPattern, drain
from monitor.wire.peer import (
    answer_offer,
    apply_answer,
    close_quietly,
    make_offer,
    offering_channel,
    wait_open,
)
from monitor.wire.protocol import CHANNEL_LABEL, Ping, Pong, Report, decode, encode
from monitor.wire.signaling import delete_session, post_offer
from monitor.wire.tokens import verify_monitor_token

log = logging.getLogger(__name__)

VERSION = "bridgewatch-agent/0.1.0"
SETUP_TIMEOUT_SECONDS = 15.0
# With no ping (nor binding request) for this long the monitor is gone: drop the session (push:
# dial again).
IDLE_TIMEOUT_SECONDS = 10.0
REPORT_INTERVAL_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 30.0


class Detour(Protocol):
    """A way around for a session's packets (the simulation's impaired links, in the demo and
    the tests): it rewrites an SDP so the peer sends through it, and returns what undoes it."""

    async def route(self, sdp: str) -> tuple[str, Callable[[], None]]: ...


@dataclass
class AgentSession:
    pc: RTCPeerConnection
    undo_detours: list[Callable[[], None]] = field(default_factory=list)
    last_heard: float = 0.0  # the monitor's latest ping or binding request
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class SiteAgent:
    def __init__(
        self,
        site_code: str,
        secret: str,
        rtc: RTCConfiguration,
        report: Callable[[], Report] = lambda: Report(),
        detour: Detour | None = None,
    ) -> None:
        self.site_code = site_code
        self._secret = secret
        self._rtc = rtc
        self._own_servers = list(rtc.iceServers or [])
        self._report = report
        self._detour = detour
        self.sessions: dict[str, AgentSession] = {}
        self._reapers: set[asyncio.Task[None]] = set()

    # -- what both modes share ------------------------------------------------------------

    def authorized(self, token: str) -> bool:
        return verify_monitor_token(self._secret, self.site_code, token)

    def _serve(self, session: AgentSession, channel: RTCDataChannel) -> None:
        loop = asyncio.get_running_loop()
        session.last_heard = loop.time()
        first_ping = asyncio.Event()

        def heard() -> None:
            session.last_heard = loop.time()

        stun_keepalive = _count_binding_requests(session.pc, heard)

        def send(message: Pong | Report) -> None:
            with contextlib.suppress(Exception):  # the channel may close under us
                channel.send(encode(message))

        def on_message(raw: str | bytes) -> None:
            message = decode(raw)
            if isinstance(message, Ping):
                heard()
                send(Pong(seq=message.seq, t=message.t))
                first_ping.set()

        async def report_and_watch() -> None:
            # Report after the first ping, not at open: by then the monitor surely listens.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_ping.wait(), IDLE_TIMEOUT_SECONDS)
            while channel.readyState == "open" and not session.closed.is_set():
                own = {"version": VERSION, "stun_keepalive": stun_keepalive or None}
                send(self._report().model_copy(update=own))
                for _ in range(int(REPORT_INTERVAL_SECONDS)):
                    await asyncio.sleep(1.0)
                    if loop.time() - session.last_heard > IDLE_TIMEOUT_SECONDS:
                        session.closed.set()
                        return

        channel.on("message", on_message)
        channel.on("close", session.closed.set)
        session.tasks.add(asyncio.create_task(report_and_watch()))
        session.opened.set()

    @staticmethod
    def _on_state(session: AgentSession) -> None:
        if session.pc.connectionState in ("closed", "failed"):
            session.closed.set()

    @property
    def rtc(self) -> RTCConfiguration:
        """What the next session is made with."""
        return self._rtc

    def _learn(self, servers: list[RTCIceServer]) -> None:
        """The monitor's ICE servers from its last answer (TURN with fresh credentials) join
        the agent's own for the next dial; its own come first and keep their credentials."""
        if not servers:
            return
        own = {url for server in self._own_servers for url in _urls(server)}
        learned = [s for s in servers if not own.intersection(_urls(s))]
        self._rtc = RTCConfiguration(
            iceServers=[*self._own_servers, *learned],
            iceTransportPolicy=self._rtc.iceTransportPolicy,
        )

    async def _detoured(self, sdp: str, session: AgentSession) -> str:
        if self._detour is None:
            return sdp
        rewritten, undo = await self._detour.route(sdp)
        session.undo_detours.append(undo)
        return rewritten

    async def _close(self, session: AgentSession) -> None:
        session.closed.set()
        for task in session.tasks:
            task.cancel()
        await close_quietly(session.pc)
        for undo in session.undo_detours:
            undo()

    async def close(self) -> None:
        for reaper in list(self._reapers):
            reaper.cancel()
        sessions, self.sessions = list(self.sessions.values()), {}
        await asyncio.gather(*(self._close(s) for s in sessions))

    # -- pull mode: the monitor dials us --------------------------------------------------

    def _new_session(self) -> AgentSession:
        session = AgentSession(RTCPeerConnection(self._rtc))
        session.pc.on("connectionstatechange", lambda: self._on_state(session))
        return session

    async def answer(self, offer: str, media: bool = False) -> tuple[str, str]:
        """Answer the monitor's offer; returns (answer SDP, session id).

        With `media`, the session is a media check: test video goes back to the monitor.
        """
        session = self._new_session()

        @session.pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            if channel.label == CHANNEL_LABEL:
                self._serve(session, channel)

        @session.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            # Fired while the offer is applied, so the answer carries our video too.
            if media and track.kind == "video":
                session.pc.addTrack(TestPattern())
                session.opened.set()
            session.tasks.add(asyncio.create_task(drain(track)))

        try:
            async with asyncio.timeout(SETUP_TIMEOUT_SECONDS):
                answer = await answer_offer(session.pc, await self._detoured(offer, session))
                answer = await self._detoured(answer, session)
        except BaseException:
            await self._close(session)
            raise
        session_id = uuid.uuid4().hex
        self.sessions[session_id] = session
        reaper = asyncio.create_task(self._reap(session_id, session))
        self._reapers.add(reaper)
        reaper.add_done_callback(self._reapers.discard)
        return answer, session_id

    async def _reap(self, session_id: str, session: AgentSession) -> None:
        """Forget a session once it is closed, idle, or never opened."""
        try:
            async with asyncio.timeout(SETUP_TIMEOUT_SECONDS):
                await session.opened.wait()
        except TimeoutError:
            pass  # the monitor never connected: drop the session
        else:
            await session.closed.wait()
        self.sessions.pop(session_id, None)
        await self._close(session)

    async def end(self, session_id: str) -> bool:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        await self._close(session)
        return True

    # -- push mode: we dial the monitor ---------------------------------------------------

    async def push_forever(self, url: str, http: httpx.AsyncClient) -> None:
        """Keep a session with the monitor at `url` (…/api/v1/agents/CODE/sessions)."""
        failures = 0
        while True:
            try:
                await self._push_once(url, http)
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning(
                    "push session failed", extra={"site": self.site_code, "error": str(exc)[:200]}
                )
            ceiling = min(MAX_BACKOFF_SECONDS, 2.0 ** max(0, failures - 1))
            await asyncio.sleep(ceiling * random.uniform(0.5, 1.0))

    async def _push_once(self, url: str, http: httpx.AsyncClient) -> None:
        session = self._new_session()
        location = None
        try:
            channel = offering_channel(session.pc)
            async with asyncio.timeout(SETUP_TIMEOUT_SECONDS):
                offer = await self._detoured(await make_offer(session.pc), session)
                answer = await post_offer(http, url, offer, self._secret)
                location = answer.location
                self._learn(answer.ice_servers)
                if "a=candidate:" not in offer:
                    # Relay only with no usable TURN server (yet): aiortc would wait for ever.
                    # The offer was not useless: its answer named the servers for the next dial.
                    raise ConnectionError("no ICE candidate gathered; no relay to go through")
                await apply_answer(session.pc, await self._detoured(answer.sdp, session))
                await _opened(channel, session)
            log.info("connected to the monitor", extra={"site": self.site_code})
            self._serve(session, channel)
            self.sessions["push"] = session
            await session.closed.wait()
        finally:
            self.sessions.pop("push", None)
            await self._close(session)
            if location:
                await delete_session(http, location, self._secret)


async def _opened(channel: RTCDataChannel, session: AgentSession) -> None:
    """The channel opens, or the connection fails first (ICE found no path: a relay-only agent
    with no TURN server, or refused credentials): then no use waiting for the set-up timeout."""
    opening = asyncio.ensure_future(wait_open(channel))
    closing = asyncio.ensure_future(session.closed.wait())
    try:
        await asyncio.wait({opening, closing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        opening.cancel()
        closing.cancel()
    if channel.readyState != "open":
        raise ConnectionError(f"no connection: {session.pc.iceConnectionState}")


def _count_binding_requests(pc: RTCPeerConnection, heard: Callable[[], None]) -> bool:
    """The monitor's binding requests (its STUN heartbeats) count as signs of life; True if
    they can. The agent's own consent checks stop then: the idle rule notices a silent monitor
    in 10 s, sooner than consent in ~30 s, and the monitor need not answer each agent's request
    every ~5 s."""
    connection = ice_connection(pc)
    if connection is None or not on_binding_request(connection, heard):
        return False
    stop_consent_checks(connection)
    return True


def _urls(server: RTCIceServer) -> list[str]:
    return [server.urls] if isinstance(server.urls, str) else list(server.urls)
