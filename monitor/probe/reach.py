"""How a site is reached, until the monitor stops watching it.

- Pull: the monitor dials the agent at the site's signaling URL, under the global cap on
  concurrent set-ups, retries a site that cannot be reached with capped exponential backoff and
  jitter, and now and then runs a media check while the site answers.
- Push: the agent dials the monitor (sites behind NAT); a site whose agent has not dialled in
  within the grace time is down.

Each reached connection is handed to the site's `SiteProbe`, which measures it until it dies.
"""

import asyncio
import contextlib
import random
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection

from monitor.probe.site_probe import Connection, SiteProbe
from monitor.wire.media import media_check
from monitor.wire.peer import (
    SetupError,
    answer_offer,
    apply_answer,
    close_quietly,
    make_offer,
    offering_channel,
    setup_stage,
    wait_open,
)
from monitor.wire.protocol import CHANNEL_LABEL
from monitor.wire.signaling import SignalingError, delete_session, post_offer
from monitor.wire.tokens import monitor_token

IDLE_CHECK = 5.0  # media checks off for now: look again this often whether they are on


@dataclass(frozen=True)
class ReachTimings:
    setup_timeout_seconds: float  # signaling + ICE + DTLS + SCTP
    backoff_max_seconds: float  # pull: retries of a site that cannot be reached back off to this
    push_grace_seconds: float  # push: an agent that has not dialled in by then is down
    media_check_interval_seconds: float  # pull: 0 for none
    live_media_check_interval_seconds: float  # while the site's conference is live; 0: as above
    media_check_seconds: float


@dataclass(frozen=True)
class Reaching:
    """What every site's reach shares."""

    setup_slots: asyncio.Semaphore  # the global cap on concurrent connection set-ups
    rtc: RTCConfiguration
    http: httpx.AsyncClient
    timings: ReachTimings


class PullReach:
    """The monitor dials the agent, for as long as the site is watched."""

    def __init__(self, probe: SiteProbe, reaching: Reaching) -> None:
        self._probe = probe
        self._config = probe.config
        self._reaching = reaching
        self._timings = reaching.timings
        self._loop = asyncio.get_running_loop()

    def jobs(self) -> list[Coroutine[Any, Any, None]]:
        jobs = [self._dial_forever()]
        timings = self._timings
        if timings.media_check_interval_seconds or timings.live_media_check_interval_seconds:
            jobs.append(self._media_checks())
        return jobs

    async def _dial_forever(self) -> None:
        failures = 0
        while True:
            try:
                connection = await self._dial()
            except (SetupError, SignalingError) as exc:
                answered = isinstance(exc, SetupError) and exc.agent_answered
                self._probe.setup_failed(exc.error_class, str(exc), answered)
                failures += 1
                await asyncio.sleep(self._backoff(failures))
                continue
            failures = 0
            try:
                await self._probe.watch(connection)
            finally:
                await self._hang_up(connection)
            # A dropped site is retried soon, but never all sites at the same instant.
            await asyncio.sleep(random.uniform(0.2, 1.0))

    def _backoff(self, failures: int) -> float:
        """Capped exponential backoff with jitter: 1, 2, 4 ... seconds, times 0.5-1.0."""
        ceiling = min(self._timings.backoff_max_seconds, 2.0 ** (failures - 1))
        return ceiling * random.uniform(0.5, 1.0)

    async def _dial(self) -> Connection:
        config = self._config
        if not config.target:
            raise SetupError("no_target", "the site has no agent URL (probe_target)")
        if not config.monitor_key:
            raise SetupError(
                "no_secret", f"no agent secret: bridgewatch sites secret {config.code}"
            )
        async with self._reaching.setup_slots:
            pc = RTCPeerConnection(self._reaching.rtc)
            answer = None
            try:
                channel = offering_channel(pc)
                started = self._loop.time()
                async with asyncio.timeout(self._timings.setup_timeout_seconds):
                    offer = await make_offer(pc)
                    token = monitor_token(config.monitor_key, config.code)
                    answer = await post_offer(self._reaching.http, config.target, offer, token)
                    await apply_answer(pc, answer.sdp)
                    await wait_open(channel)
                return Connection(pc, channel, self._loop.time() - started, answer.location)
            except TimeoutError as exc:
                stage = "no answer to the offer" if answer is None else setup_stage(pc)
                await close_quietly(pc)
                raise SetupError(
                    "setup_timeout",
                    f"no connection within the set-up timeout ({stage})",
                    agent_answered=answer is not None,
                ) from exc
            except BaseException:
                await close_quietly(pc)
                raise

    async def _hang_up(self, connection: Connection) -> None:
        """End the agent's session too, rather than leave it to notice the silence. Not when
        the monitor stops: closing the connection has told the agent (its channel closes), and
        thousands of requests at once would hold the stop up for minutes (the HTTP client's
        pool scans its whole queue for each one: 88 s at 3,321 sites). Nor when the link was
        lost: the request would most likely wait out its timeout before the site is dialled
        again, and the agent ends a session that hears no ping on its own."""
        probe = self._probe
        if probe.hushed or probe.machine.lost:
            return
        if connection.location and self._config.monitor_key:
            token = monitor_token(self._config.monitor_key, self._config.code)
            await delete_session(self._reaching.http, connection.location, token)

    async def _media_checks(self) -> None:
        """Now and then, while the site answers, a few seconds of test video both ways; more
        often while its conference is live, if so configured."""
        await asyncio.sleep(random.uniform(0.2, 1.0) * (self._media_interval() or IDLE_CHECK))
        while True:
            if self._media_interval() and self._probe.connected:
                await self.check_media()
            await asyncio.sleep((self._media_interval() or IDLE_CHECK) * random.uniform(0.9, 1.1))

    async def check_media(self) -> dict[str, Any] | None:
        """One media check now, its figures also carried by the next window; None when the
        agent cannot be dialled for one."""
        config = self._config
        if not config.target or not config.monitor_key:
            return None
        async with self._reaching.setup_slots:
            result = await media_check(
                self._reaching.http,
                self._reaching.rtc,
                config.target,
                monitor_token(config.monitor_key, config.code),
                self._timings.media_check_seconds,
                self._timings.setup_timeout_seconds,
            )
        self._probe.media_checked(result)
        return result

    def _media_interval(self) -> float:
        """Seconds between media checks now; 0 for none (read each time: a conference may go
        live or end meanwhile)."""
        live = self._timings.live_media_check_interval_seconds
        if self._probe.config.live and live:
            return live
        return self._timings.media_check_interval_seconds


class PushReach:
    """The agent dials in; one session at a time, the newest replacing the one before."""

    def __init__(self, probe: SiteProbe, reaching: Reaching) -> None:
        self._probe = probe
        self._reaching = reaching
        self._timings = reaching.timings
        self._loop = asyncio.get_running_loop()
        self._session: str | None = None
        self._session_task: asyncio.Task[None] | None = None
        self._grace_task: asyncio.Task[None] | None = None

    def jobs(self) -> list[Coroutine[Any, Any, None]]:
        self._start_grace()
        return []

    async def check_media(self) -> dict[str, Any] | None:
        """No media check: the monitor cannot dial an agent that dials in."""
        return None

    def tasks(self) -> list[asyncio.Task[None]]:
        """What runs now on the site's behalf (for stopping)."""
        return [t for t in (self._session_task, self._grace_task) if t is not None]

    async def accept(self, offer: str) -> tuple[str, str]:
        """An agent dialled in: answer its offer; returns (answer SDP, session id)."""
        pc = RTCPeerConnection(self._reaching.rtc)
        channel: asyncio.Future[RTCDataChannel] = self._loop.create_future()

        @pc.on("datachannel")
        def on_channel(incoming: RTCDataChannel) -> None:
            if incoming.label == CHANNEL_LABEL and not channel.done():
                # Listen at once: an agent may report before our heartbeat starts.
                incoming.on("message", self._probe.heard)
                channel.set_result(incoming)

        started = self._loop.time()
        try:
            async with asyncio.timeout(self._timings.setup_timeout_seconds):
                answer = await answer_offer(pc, offer)
        except TimeoutError as exc:
            await close_quietly(pc)
            raise SetupError("setup_timeout", "could not answer in time") from exc
        except BaseException:
            await close_quietly(pc)
            raise
        await self._end_session()
        session = uuid.uuid4().hex
        self._session = session
        self._session_task = asyncio.create_task(self._run_session(pc, channel, started))
        return answer, session

    async def end(self, session: str) -> bool:
        if session != self._session:
            return False
        await self._end_session()
        return True

    async def _end_session(self) -> None:
        task, self._session_task, self._session = self._session_task, None, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run_session(
        self, pc: RTCPeerConnection, channel: asyncio.Future[RTCDataChannel], started: float
    ) -> None:
        if self._grace_task is not None:
            self._grace_task.cancel()
        try:
            async with asyncio.timeout(self._timings.setup_timeout_seconds):
                opened = await channel
                await wait_open(opened)
        except TimeoutError:
            stage = setup_stage(pc)
            await close_quietly(pc)
            self._probe.setup_failed(
                "setup_timeout",
                f"the agent's data channel never opened ({stage})",
                agent_answered=True,
            )
            self._start_grace()
            return
        try:
            await self._probe.watch(Connection(pc, opened, self._loop.time() - started))
        finally:
            self._start_grace()

    def _start_grace(self) -> None:
        """A push site whose agent does not (re)connect within the grace time is down."""

        async def wait_for_agent() -> None:
            await asyncio.sleep(self._timings.push_grace_seconds)
            self._probe.setup_failed("agent_not_connected", "the agent has not dialled in")

        if self._grace_task is not None:
            self._grace_task.cancel()
        self._grace_task = asyncio.create_task(wait_for_agent())
