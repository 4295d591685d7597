"""One site watched: connect (pull: dial the agent; push: accept it), heartbeat, and one Sample
per window; every status change goes out on the event bus."""

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection

from models.base import utcnow
from models.settings import Settings
from models.site import ProbeMode
from models.thresholds import Thresholds
from monitor.probe.events import EventBus, SampleTaken, StatusChanged
from monitor.probe.heartbeat import Heartbeat
from monitor.probe.metrics import ProbeMetrics, SiteSnapshot
from monitor.probe.quality import WindowFigures, figures
from monitor.probe.status import StatusMachine, Transition
from monitor.wire.media import media_check
from monitor.wire.peer import (
    SetupError,
    answer_offer,
    apply_answer,
    close_quietly,
    make_offer,
    offering_channel,
    wait_open,
)
from monitor.wire.protocol import CHANNEL_LABEL, Report, decode
from monitor.wire.signaling import SignalingError, delete_session, post_offer
from monitor.wire.tokens import monitor_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteConfig:
    id: int
    code: str
    mode: ProbeMode
    target: str | None
    monitor_key: str | None
    limits: Thresholds


@dataclass(frozen=True)
class ProbeContext:
    """What every site monitor shares."""

    settings: Settings
    bus: EventBus
    setup_slots: asyncio.Semaphore  # the global cap on concurrent connection set-ups
    rtc: RTCConfiguration
    http: httpx.AsyncClient
    metrics: ProbeMetrics


@dataclass
class Connection:
    pc: RTCPeerConnection
    channel: RTCDataChannel
    setup_seconds: float
    location: str | None = None  # pull: the agent's session URL, DELETEd on close


class SiteMonitor:
    def __init__(self, config: SiteConfig, context: ProbeContext, machine: StatusMachine) -> None:
        self.config = config
        self.machine = machine
        self._context = context
        self._settings = context.settings
        self._loop = asyncio.get_running_loop()
        self._rtts: list[float] = []
        self._lost = 0
        self._misses_in_row = 0
        self._setup_seconds: float | None = None
        self._error_class: str | None = None
        self._report: Report | None = None
        self.last_seen_at: datetime | None = None
        self.last_figures: WindowFigures | None = None  # of the last window that had pings
        self.last_setup_seconds: float | None = None
        self._media: dict[str, Any] | None = None
        self._connected = False
        self._dead = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._push_task: asyncio.Task[None] | None = None
        self._push_session: str | None = None
        self._grace_task: asyncio.Task[None] | None = None

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._windows(), name=f"windows {self.config.code}"))
        if self.config.mode is ProbeMode.PULL:
            self._tasks.append(asyncio.create_task(self._pull(), name=f"pull {self.config.code}"))
            if self._settings.media_check_interval_seconds:
                self._tasks.append(asyncio.create_task(self._media_checks()))
        else:
            self._start_grace()

    async def stop(self) -> None:
        tasks = [t for t in (*self._tasks, self._push_task, self._grace_task) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            # Not `await task`, which would swallow a cancellation of `stop` itself, and the
            # engine bounds how long stopping takes by cancelling it.
            await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.error("site task failed", exc_info=task.exception())

    # -- heartbeat sink ---------------------------------------------------------------------

    def answered(self, rtt_seconds: float | None) -> None:
        self._context.metrics.heartbeats.labels("answered").inc()
        if rtt_seconds is not None:
            self._rtts.append(rtt_seconds)
        self._alive()

    def late(self) -> None:
        self._context.metrics.heartbeats.labels("late").inc()
        self._alive()

    def _alive(self) -> None:
        self._misses_in_row = 0
        self.last_seen_at = utcnow()
        self._publish(self.machine.heartbeat(True, self.last_seen_at))

    def missed(self) -> None:
        self._context.metrics.heartbeats.labels("missed").inc()
        self._lost += 1
        self._misses_in_row += 1
        self._publish(self.machine.heartbeat(False, utcnow()))
        if self._misses_in_row >= self._settings.missed_heartbeats_to_down:
            self._dead.set()

    def reported(self, report: Report) -> None:
        self._report = report

    # -- windows ----------------------------------------------------------------------------

    async def _windows(self) -> None:
        window = self._settings.window_seconds
        # Sites start their windows at random offsets so their writes spread over the window.
        next_at = self._loop.time() + random.uniform(0.5, 1.0) * window
        while True:
            await asyncio.sleep(max(0.0, next_at - self._loop.time()))
            next_at += window
            self._close_window()

    def _close_window(self) -> None:
        now = utcnow()
        result = figures(self._rtts, self._lost)
        report = (
            self._report.model_dump(exclude_none=True, exclude={"type"}) if self._report else None
        )
        if self._rtts:
            # Judged before it is published: the window that opens an incident is the first
            # that counts toward its worst figures.
            self._publish(self.machine.window(result, now))
        self._context.bus.publish(
            SampleTaken(
                site_id=self.config.id,
                site_code=self.config.code,
                at=now,
                reachable=bool(self._rtts),
                figures=result,
                setup_seconds=self._setup_seconds,
                last_seen_at=self.last_seen_at,
                error_class=None if self._rtts else self._error_class,
                report=report,
                media=self._media,
                status=self.machine.status,
                status_since=self.machine.since,
                status_reason=self.machine.reason,
            )
        )
        self._media = None
        if result.sent:
            self.last_figures = result
        self._rtts, self._lost, self._setup_seconds = [], 0, None

    def snapshot(self, name: str, level: str, parent: str) -> SiteSnapshot:
        return SiteSnapshot(
            code=self.config.code,
            name=name,
            level=level,
            parent=parent,
            status=self.machine.status,
            since=self.machine.since,
            figures=self.last_figures,
            setup_seconds=self.last_setup_seconds,
            attendance=self._report.attendance if self._report else None,
            last_seen_at=self.last_seen_at,
        )

    # -- status -----------------------------------------------------------------------------

    def _publish(self, change: Transition | None) -> None:
        if change is None:
            return
        log.info(
            "status changed",
            extra={
                "site": self.config.code,
                "old": change.old,
                "new": change.new,
                "reason": change.reason,
            },
        )
        self._context.bus.publish(
            StatusChanged(
                self.config.id, self.config.code, change.old, change.new, change.reason, change.at
            )
        )

    def _setup_failed(self, error_class: str, detail: str) -> None:
        self._context.metrics.setups.labels(error_class).inc()
        self._error_class = error_class
        log.info(
            "set-up failed",
            extra={"site": self.config.code, "error": error_class, "detail": detail[:200]},
        )
        self._publish(self.machine.setup_failed(f"set-up failed: {error_class}", utcnow()))

    # -- pull mode --------------------------------------------------------------------------

    async def _pull(self) -> None:
        failures = 0
        while True:
            try:
                connection = await self._dial()
            except (SetupError, SignalingError) as exc:
                self._setup_failed(exc.error_class, str(exc))
                failures += 1
                await asyncio.sleep(self._backoff(failures))
                continue
            failures = 0
            await self._watch(connection)
            # A dropped site is retried soon, but never all sites at the same instant.
            await asyncio.sleep(random.uniform(0.2, 1.0))

    def _backoff(self, failures: int) -> float:
        """Capped exponential backoff with jitter: 1, 2, 4 ... seconds, times 0.5-1.0."""
        ceiling = min(self._settings.reconnect_backoff_max_seconds, 2.0 ** (failures - 1))
        return ceiling * random.uniform(0.5, 1.0)

    async def _dial(self) -> Connection:
        config = self.config
        if not config.target:
            raise SetupError("no_target", "the site has no agent URL (probe_target)")
        if not config.monitor_key:
            raise SetupError(
                "no_secret", f"no agent secret: bridgewatch sites secret {config.code}"
            )
        async with self._context.setup_slots:
            pc = RTCPeerConnection(self._context.rtc)
            try:
                channel = offering_channel(pc)
                started = self._loop.time()
                async with asyncio.timeout(self._settings.setup_timeout_seconds):
                    offer = await make_offer(pc)
                    token = monitor_token(config.monitor_key, config.code)
                    answer = await post_offer(self._context.http, config.target, offer, token)
                    await apply_answer(pc, answer.sdp)
                    await wait_open(channel)
                return Connection(pc, channel, self._loop.time() - started, answer.location)
            except TimeoutError as exc:
                await close_quietly(pc)
                raise SetupError(
                    "setup_timeout", "no connection within the set-up timeout"
                ) from exc
            except BaseException:
                await close_quietly(pc)
                raise

    async def _watch(self, connection: Connection) -> None:
        """Heartbeat on the connection until it is dead, then close it."""
        self._context.metrics.setups.labels("ok").inc()
        self._context.metrics.setup_duration.observe(connection.setup_seconds)
        self._setup_seconds = self.last_setup_seconds = connection.setup_seconds
        self._error_class = None
        self._misses_in_row = 0
        self._dead = asyncio.Event()
        connection.channel.on("close", self._dead.set)
        heartbeat = Heartbeat(
            connection.channel,
            self._settings.heartbeat_interval_seconds,
            self._settings.heartbeat_timeout_seconds,
            self,
        )
        beating = asyncio.create_task(heartbeat.run())
        dead = asyncio.create_task(self._dead.wait())
        self._connected = True
        try:
            await asyncio.wait({beating, dead}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._connected = False
            self._report = None  # what the agent said no longer holds once it is gone
            beating.cancel()
            dead.cancel()
            self._error_class = "heartbeat_lost"
            await close_quietly(connection.pc)
            if connection.location and self.config.monitor_key:
                token = monitor_token(self.config.monitor_key, self.config.code)
                await delete_session(self._context.http, connection.location, token)

    async def _media_checks(self) -> None:
        """Now and then, while the site answers, a few seconds of test video both ways."""
        interval = self._settings.media_check_interval_seconds
        await asyncio.sleep(random.uniform(0.2, 1.0) * interval)
        while True:
            if self._connected and self.config.target and self.config.monitor_key:
                async with self._context.setup_slots:
                    self._media = await media_check(
                        self._context.http,
                        self._context.rtc,
                        self.config.target,
                        monitor_token(self.config.monitor_key, self.config.code),
                        self._settings.media_check_seconds,
                        self._settings.setup_timeout_seconds,
                    )
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    def _early_message(self, raw: str | bytes) -> None:
        if isinstance(message := decode(raw), Report):
            self._report = message

    # -- push mode --------------------------------------------------------------------------

    async def accept(self, offer: str) -> tuple[str, str]:
        """An agent dialled in: answer its offer; returns (answer SDP, session id)."""
        pc = RTCPeerConnection(self._context.rtc)
        channel: asyncio.Future[RTCDataChannel] = self._loop.create_future()

        @pc.on("datachannel")
        def on_channel(incoming: RTCDataChannel) -> None:
            if incoming.label == CHANNEL_LABEL and not channel.done():
                # Listen at once: an agent may report before our heartbeat starts.
                incoming.on("message", self._early_message)
                channel.set_result(incoming)

        started = self._loop.time()
        try:
            async with asyncio.timeout(self._settings.setup_timeout_seconds):
                answer = await answer_offer(pc, offer)
        except TimeoutError as exc:
            await close_quietly(pc)
            raise SetupError("setup_timeout", "could not answer in time") from exc
        except BaseException:
            await close_quietly(pc)
            raise
        await self._end_push()
        session = uuid.uuid4().hex
        self._push_session = session
        self._push_task = asyncio.create_task(self._run_push(pc, channel, started))
        return answer, session

    async def end_push(self, session: str) -> bool:
        if session != self._push_session:
            return False
        await self._end_push()
        return True

    async def _end_push(self) -> None:
        task, self._push_task, self._push_session = self._push_task, None, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run_push(
        self, pc: RTCPeerConnection, channel: asyncio.Future[RTCDataChannel], started: float
    ) -> None:
        if self._grace_task is not None:
            self._grace_task.cancel()
        try:
            async with asyncio.timeout(self._settings.setup_timeout_seconds):
                opened = await channel
                await wait_open(opened)
        except TimeoutError:
            await close_quietly(pc)
            self._setup_failed("setup_timeout", "the agent's data channel never opened")
            self._start_grace()
            return
        try:
            await self._watch(Connection(pc, opened, self._loop.time() - started))
        finally:
            self._start_grace()

    def _start_grace(self) -> None:
        """A push site whose agent does not (re)connect within the grace time is down."""

        async def wait_for_agent() -> None:
            await asyncio.sleep(self._settings.push_grace_seconds)
            self._setup_failed("agent_not_connected", "the agent has not dialled in")

        if self._grace_task is not None:
            self._grace_task.cancel()
        self._grace_task = asyncio.create_task(wait_for_agent())
