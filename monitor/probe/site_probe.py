"""The probe of one reached site: heartbeats over its connection, one measurement window after
another, and the status that follows from them. Every status change and every window goes out
on the event bus. How the site is reached (dialled, or dialling in) is `monitor.probe.reach`.
"""

import asyncio
import logging
import random
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from aiortc import RTCDataChannel, RTCPeerConnection

from models.base import utcnow
from models.site import ProbeMode
from models.thresholds import Thresholds
from monitor.probe.events import EventBus, SampleTaken, StatusChanged
from monitor.probe.heartbeat import Heartbeat
from monitor.probe.metrics import ProbeMetrics, SiteSnapshot
from monitor.probe.quality import WindowFigures, figures
from monitor.probe.status import StatusMachine, Transition
from monitor.probe.stun_heartbeat import StunHeartbeat
from monitor.wire.ice_path import selected_candidate_types
from monitor.wire.peer import close_quietly
from monitor.wire.protocol import Report, decode
from monitor.wire.stun_prober import StunProber

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteConfig:
    id: int
    code: str
    mode: ProbeMode
    target: str | None
    monitor_key: str | None
    limits: Thresholds
    live: bool = False  # it takes part in a conference that is live now
    maintenance: str | None = None  # the note of the maintenance window it is in now, if any


def only_judging_differs(old: SiteConfig, new: SiteConfig) -> bool:
    """The same site reached the same way, judged by other limits, live or not any more, or in
    maintenance or not any more."""
    judged = replace(old, limits=new.limits, live=new.live, maintenance=new.maintenance)
    return old != new and judged == new


@dataclass(frozen=True)
class ProbeTimings:
    heartbeat_interval_seconds: float
    heartbeat_timeout_seconds: float  # a ping not answered by then is missed
    window_seconds: float  # one sample per window


@dataclass
class Connection:
    pc: RTCPeerConnection
    channel: RTCDataChannel
    setup_seconds: float
    location: str | None = None  # pull: the agent's session URL, DELETEd on close


class SiteProbe:
    """What the monitor measures of one site, and the site's status (its `StatusMachine` is the
    only one that counts missed heartbeats)."""

    def __init__(
        self,
        config: SiteConfig,
        machine: StatusMachine,
        timings: ProbeTimings,
        bus: EventBus,
        metrics: ProbeMetrics,
        prober: StunProber | None = None,
    ) -> None:
        self.config = config
        self._prober = prober  # liveness from STUN binding requests; None: the ping's echo
        self.machine = machine
        self._timings = timings
        self._bus = bus
        self._metrics = metrics
        self._loop = asyncio.get_running_loop()
        self._rtts: list[float] = []
        self._lost = 0
        self._setup_seconds: float | None = None
        self._error_class: str | None = None
        self._report: Report | None = None
        self._media: dict[str, Any] | None = None
        self._dead = asyncio.Event()
        # What a full check waits on: set at the next heartbeat answered, then dropped. Made
        # only when one waits: an event made per heartbeat was two objects per site and
        # second that the young garbage collections had to walk (docs/BENCHMARKS.md).
        self._answered: asyncio.Event | None = None
        self._pc: RTCPeerConnection | None = None  # the live connection, for its path
        self._heartbeat: Heartbeat | StunHeartbeat | None = None
        self._hushed = False
        self.connected = False
        self.last_seen_at: datetime | None = None
        self.last_figures: WindowFigures | None = None  # of the last window that had pings
        self.last_setup_seconds: float | None = None

    # -- the heartbeat's verdicts (monitor.probe.heartbeat.HeartbeatSink) ------------------

    def answered(self, rtt_seconds: float | None) -> None:
        self._metrics.heartbeats_answered.inc()
        if rtt_seconds is not None:
            self._rtts.append(rtt_seconds)
        self._alive()

    def late(self) -> None:
        self._metrics.heartbeats_late.inc()
        self._alive()

    def _alive(self) -> None:
        self.last_seen_at = utcnow()
        if self._answered is not None:
            self._answered.set()
            self._answered = None
        self._publish(self.machine.heartbeat(True, self.last_seen_at))

    async def answers(self, within: float) -> bool:
        """Whether the site's data channel answers a heartbeat sent from now on, within
        `within` seconds (a full check's first part)."""
        if not self.connected:
            return False
        if self._answered is None:
            self._answered = asyncio.Event()
        answered = self._answered
        try:
            await asyncio.wait_for(answered.wait(), within)
        except TimeoutError:
            return False
        return True

    @property
    def report(self) -> Report | None:
        """What the site's agent last said on the live connection."""
        return self._report

    def missed(self) -> None:
        self._count_lost()
        self._publish(self.machine.heartbeat(False, utcnow()))
        if self.machine.lost and not self._dead.is_set():
            evidence = self._heartbeat.evidence() if self._heartbeat is not None else {}
            log.info("heartbeats lost", extra={"site": self.config.code, **evidence})
            self._dead.set()

    def overtaken(self) -> None:
        self._count_lost()  # for the window only: the status machine hears of no miss

    def _count_lost(self) -> None:
        self._metrics.heartbeats_missed.inc()
        self._lost += 1

    def reported(self, report: Report) -> None:
        self._report = report

    def heard(self, raw: str | bytes) -> None:
        """A message before the heartbeat listens (an agent may report at once)."""
        if isinstance(message := decode(raw), Report):
            self._report = message

    # -- a connection, from set-up to its end ------------------------------------------------

    async def watch(self, connection: Connection) -> None:
        """Heartbeat on the connection until it is dead, then close it."""
        self._metrics.setups.labels("ok").inc()
        self._metrics.setup_duration.observe(connection.setup_seconds)
        self._setup_seconds = self.last_setup_seconds = connection.setup_seconds
        self._error_class = None
        self.machine.connected()
        self._dead = asyncio.Event()
        connection.channel.on("close", self._dead.set)
        interval = self._timings.heartbeat_interval_seconds
        timeout = self._timings.heartbeat_timeout_seconds
        heartbeat = (
            Heartbeat(connection.channel, interval, timeout, self)
            if self._prober is None
            else StunHeartbeat(
                connection.pc, connection.channel, self._prober, interval, timeout, self
            )
        )
        if self._hushed:
            heartbeat.pause()
        beating = asyncio.create_task(heartbeat.run())
        dead = asyncio.create_task(self._dead.wait())
        self.connected = True
        self._pc = connection.pc
        self._heartbeat = heartbeat
        try:
            await asyncio.wait({beating, dead}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.connected = False
            self._pc = None
            self._heartbeat = None
            self._report = None  # what the agent said no longer holds once it is gone
            beating.cancel()
            dead.cancel()
            self._error_class = "heartbeat_lost"
            await close_quietly(connection.pc)

    @property
    def hushed(self) -> bool:
        """The monitor is stopping."""
        return self._hushed

    def hush(self) -> None:
        """Ping no more (the monitor is stopping); the connection stays up until closed."""
        self._hushed = True
        if self._heartbeat is not None:
            self._heartbeat.pause()

    def setup_failed(self, error_class: str, detail: str, agent_answered: bool = False) -> None:
        self._metrics.setups.labels(error_class).inc()
        self._error_class = error_class
        log.info(
            "set-up failed",
            extra={"site": self.config.code, "error": error_class, "detail": detail[:200]},
        )
        reason = f"set-up failed: {error_class}"
        self._publish(self.machine.setup_failed(reason, utcnow(), agent_answered))

    def retune(self, config: SiteConfig) -> None:
        """Judge the windows from now on as `config` says, without touching the connection: by
        its limits, and in maintenance or not (probing goes on either way)."""
        self.config = config
        self.machine.policy = replace(self.machine.policy, limits=config.limits)
        self._publish(self.machine.maintain(config.maintenance, utcnow()))

    def media_checked(self, result: dict[str, Any] | None) -> None:
        """Figures of a media check, carried by the window in which it ended."""
        self._media = result

    # -- windows -------------------------------------------------------------------------

    async def windows(self) -> None:
        window = self._timings.window_seconds
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
            # that counts toward its worst figures. The report is this connection's only (it
            # is dropped when the connection ends): a fault never outlives its agent.
            self._publish(self.machine.window(result, now, self._report))
        self._bus.publish(
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
                **self._path(),
            )
        )
        self._media = None
        if result.sent:
            self.last_figures = result
        self._rtts, self._lost, self._setup_seconds = [], 0, None

    def _path(self) -> dict[str, str | None]:
        """The candidate types of the live connection's selected pair (read at each window:
        ICE may move to another pair)."""
        types = selected_candidate_types(self._pc) if self._pc is not None else None
        local, remote = types or (None, None)
        return {"local_candidate_type": local, "remote_candidate_type": remote}

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
        self._bus.publish(
            StatusChanged(
                self.config.id, self.config.code, change.old, change.new, change.reason, change.at
            )
        )
