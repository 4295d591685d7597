"""The probe engine: one `SiteMonitor` per probed site, kept in step with the database.

It restores each site's last known status at start, caps concurrent set-ups globally, and hands
everything it observes to the event bus (recorder, live stream, metrics).
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import aliased

from models.auth import AgentCredential
from models.base import utcnow
from models.db import SessionMaker
from models.settings import Settings
from models.site import ProbeMode, Site, SiteStatus, probed
from models.thresholds import Thresholds, stricter
from monitor.conference.limits import live_limits
from monitor.maintenance.query import in_maintenance
from monitor.probe.events import EventBus, StatusChanged
from monitor.probe.holdings import Holdings
from monitor.probe.metrics import ProbeMetrics, SiteSnapshot
from monitor.probe.reach import Reaching, ReachTimings
from monitor.probe.recorder import Recorder, prune_samples
from monitor.probe.site_monitor import SiteMonitor
from monitor.probe.site_probe import ProbeTimings, SiteConfig, SiteProbe, only_judging_differs
from monitor.probe.stalls import OWN_STALLS
from monitor.probe.status import Policy, StatusMachine
from monitor.wire.cleanup import clean_up_within
from monitor.wire.ice import restrict_host_addresses, rtc_configuration
from monitor.wire.stun_prober import StunProber

log = logging.getLogger(__name__)
RELOAD_SECONDS = 10.0
RETENTION_SECONDS = 3600.0
RECORDER_STOP_SECONDS = 5.0
CLOSE_ALL_SECONDS = 4.0
RETIRE_SECONDS = 30.0
HTTP_CLOSE_SECONDS = 1.0
FIRST_RELOAD_SECONDS = 10.0
# A status the monitor has held this long is in the database, unless someone else overwrote it.
SETTLED_SECONDS = 15.0


@dataclass(frozen=True)
class SiteInfo:
    """Metadata shown beside a site's figures; changing it never restarts a probe."""

    name: str
    level: str
    parent: str


@dataclass(frozen=True)
class _Loaded:
    config: SiteConfig
    info: SiteInfo
    status: SiteStatus
    since: datetime
    reason: str


class NotProbedError(Exception):
    """The site exists but the engine does not watch it (disabled, or not in push mode)."""


class ProbeEngine:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: SessionMaker,
        bus: EventBus,
        metrics: ProbeMetrics,
        leases: Holdings | None = None,
    ) -> None:
        self.settings = settings
        self.leases = leases  # scale-out: probe only the sites this worker holds
        self.bus = bus
        self.metrics = metrics
        self._sessionmaker = sessionmaker
        self.monitors: dict[str, SiteMonitor] = {}
        self.info: dict[str, SiteInfo] = {}
        self._reload_requested = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._retiring: set[asyncio.Task[None]] = set()  # monitors a reload is stopping
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.setup_timeout_seconds, connect=5.0),
            limits=httpx.Limits(max_connections=settings.max_concurrent_setups * 2),
        )
        restrict_host_addresses(settings.ice_host_addresses)
        self._reaching = Reaching(
            setup_slots=asyncio.Semaphore(settings.max_concurrent_setups),
            rtc=rtc_configuration(settings.ice_servers),
            http=self._http,
            timings=ReachTimings(
                setup_timeout_seconds=settings.setup_timeout_seconds,
                backoff_max_seconds=settings.reconnect_backoff_max_seconds,
                push_grace_seconds=settings.push_grace_seconds,
                media_check_interval_seconds=settings.media_check_interval_seconds,
                live_media_check_interval_seconds=settings.live_media_check_interval_seconds,
                media_check_seconds=settings.media_check_seconds,
            ),
        )
        self._timings = ProbeTimings(
            heartbeat_interval_seconds=settings.heartbeat_interval_seconds,
            heartbeat_timeout_seconds=settings.heartbeat_timeout_seconds,
            window_seconds=settings.window_seconds,
        )
        self.recorder = Recorder(sessionmaker, bus, settings.recorder_flush_seconds)
        self._prober = StunProber() if settings.liveness == "stun" else None

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.recorder.run(), name="recorder"))
        # Sites are probed (in scale-out: held) from the first request on, not a moment later.
        if self.leases is not None:
            self._tasks.append(self.leases.start(changed=self._reload_requested.set))
        with contextlib.suppress(TimeoutError):  # a slow database: the loops below go on
            async with asyncio.timeout(FIRST_RELOAD_SECONDS):
                if self.leases is not None:
                    await self.leases.first_tick()
                await self._reload_once()
        self._tasks.append(asyncio.create_task(self._reload_loop(), name="engine reload"))
        self._tasks.append(
            asyncio.create_task(
                OWN_STALLS.watch_loop(self.metrics.loop_lag.observe), name="loop lag"
            )
        )
        self._tasks.append(asyncio.create_task(self._retention(), name="retention"))

    async def stop(self) -> None:
        """Save first, then hand over, then hang up: the recorder's last batch is written while
        the loop is still quiet, the leases are released (other workers take the sites at
        once), and only then do the connections close, for a bounded time (an agent whose
        session was not ended notices the silence on its own)."""
        for task in self._tasks[1:]:
            task.cancel()
        recorder = self._tasks[0] if self._tasks else None  # None: never started
        if recorder is not None:
            self.recorder.stop()
            if not await clean_up_within(RECORDER_STOP_SECONDS, recorder):
                log.error("the database did not take the last writes in time; they are lost")
        if self.leases is not None:
            await self.leases.stop()
        monitors = list(self.monitors.values())
        self.monitors.clear()
        stopping = [*(m.stop() for m in monitors), *self._retiring]
        if not await clean_up_within(CLOSE_ALL_SECONDS, *stopping):
            log.warning("site connections left open at stop", extra={"sites": len(monitors)})
        if self._prober is not None:
            self._prober.close()
        await clean_up_within(HTTP_CLOSE_SECONDS, self._http.aclose())

    async def _retention(self) -> None:
        keep = timedelta(days=self.settings.sample_retention_days)
        while True:
            try:
                pruned = await prune_samples(self._sessionmaker, utcnow() - keep)
                if pruned:
                    log.info("old samples deleted", extra={"samples": pruned})
            except Exception:
                log.exception("deleting old samples failed; will try again")
            await asyncio.sleep(RETENTION_SECONDS)

    def snapshots(self) -> list[SiteSnapshot]:
        unknown = SiteInfo("", "", "")
        snapshots = []
        for code, monitor in list(self.monitors.items()):
            info = self.info.get(code, unknown)
            snapshots.append(monitor.snapshot(info.name, info.level, info.parent))
        return snapshots

    def gauges(self) -> dict[str, float]:
        return {
            "bridgewatch_recorder_queue_events": float(self.recorder.backlog),
            "bridgewatch_sites_monitored": float(len(self.monitors)),
            "bridgewatch_monitor_workers": float(self.leases.workers if self.leases else 1),
        }

    def request_reload(self) -> None:
        """Sites changed (API, import): pick the change up now instead of at the next poll
        (in scale-out: claim new sites now too)."""
        if self.leases is not None:
            self.leases.request_tick()
        self._reload_requested.set()

    async def _reload_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reload_requested.wait(), RELOAD_SECONDS)
            self._reload_requested.clear()
            await self._reload_once()

    async def _reload_once(self) -> None:
        # A database that is down (at start-up or later) must not stop the service: `/readyz`
        # says 503 meanwhile, and the loop keeps trying.
        try:
            await self.reload()
        except Exception:
            log.exception("reloading sites failed; keeping the current set")

    async def reload(self) -> None:
        if self.leases is not None:
            # First, and without the database (it may be why the sites were given up): a site
            # this worker no longer holds is another worker's now, and probing it too would
            # fight that worker for the agent.
            self._let_go(self.leases.held)
        wanted = await self._load(self.leases.held if self.leases else None)
        self.info = {code: loaded.info for code, loaded in wanted.items()}
        for code, monitor in self.monitors.items():
            if code in wanted and only_judging_differs(monitor.config, wanted[code].config):
                # A live conference or a maintenance window begun or ended: judged anew, same
                # connection.
                monitor.probe.retune(wanted[code].config)
        leaving = [
            self.monitors.pop(code)
            for code in list(self.monitors)
            if code not in wanted or wanted[code].config != self.monitors[code].config
        ]
        if leaving:
            self._retire(leaving)
        for code, loaded in wanted.items():
            if code in self.monitors:
                self._converge(self.monitors[code].probe, loaded.status)
            else:
                policy = self._policy(loaded.config.limits)
                machine = StatusMachine(policy, loaded.status, loaded.since, loaded.reason)
                probe = SiteProbe(
                    loaded.config, machine, self._timings, self.bus, self.metrics, self._prober
                )
                probe.retune(loaded.config)  # in a maintenance window, or out of one, from now
                monitor = SiteMonitor(probe, self._reaching)
                self.monitors[code] = monitor
                monitor.start()

    def _converge(self, probe: SiteProbe, stored: SiteStatus) -> None:
        """A site's stored status follows what its monitor sees, whoever wrote it last.

        Status changes are written once, when they happen. A stored status that drifted from
        the monitor's (the unwatched sweep of another process marked the site `unknown` a
        moment before this worker took it back, after a database outage) would otherwise stay
        wrong for good: nothing re-sends a status that did not change. A status the monitor
        has held for a while (its own change is written by then) and the database does not
        show is announced again, with the monitor's reason.
        """
        machine = probe.machine
        settled = utcnow() - machine.since > timedelta(seconds=SETTLED_SECONDS)
        if stored is machine.status or not settled:
            return
        log.warning(
            "stored status differs from the monitor's; corrected",
            extra={"site": probe.config.code, "stored": stored, "seen": machine.status},
        )
        self.bus.publish(
            StatusChanged(
                probe.config.id,
                probe.config.code,
                stored,
                machine.status,
                machine.reason,
                utcnow(),
            )
        )

    def _let_go(self, held: frozenset[int]) -> None:
        leaving = [m for m in self.monitors.values() if m.config.id not in held]
        if leaving:
            log.info("no longer probing sites given up", extra={"sites": len(leaving)})
            for monitor in leaving:
                del self.monitors[monitor.config.code]
            self._retire(leaving)

    def _retire(self, monitors: list[SiteMonitor]) -> None:
        """Stop `monitors` together and in the background: a worker handing 1,000 sites over
        must neither stop them one by one nor hold up its next reload while they close."""

        async def retire() -> None:
            if not await clean_up_within(RETIRE_SECONDS, *(m.stop() for m in monitors)):
                log.warning("site monitors slow to stop", extra={"sites": len(monitors)})

        task = asyncio.create_task(retire(), name=f"retire {len(monitors)} sites")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    def _policy(self, limits: Thresholds) -> Policy:
        return Policy(
            missed_to_down=self.settings.missed_heartbeats_to_down,
            good_windows_to_up=self.settings.good_windows_to_up,
            limits=limits,
        )

    async def _load(self, only: frozenset[int] | None) -> dict[str, _Loaded]:
        credential = aliased(AgentCredential)
        parent = aliased(Site)
        query = (
            select(Site, credential.monitor_key, parent.code)
            .outerjoin(credential, credential.site_id == Site.id)
            .outerjoin(parent, parent.id == Site.parent_id)
            .where(probed())
        )
        if only is not None:
            query = query.where(Site.id.in_(only))
        async with self._sessionmaker() as session:
            rows = (await session.execute(query)).all()
            live = await live_limits(session, utcnow())
            maintenance = await in_maintenance(session, utcnow())
        defaults = self.settings.thresholds
        loaded = {}
        for site, key, parent_code in rows:
            limits = defaults.model_copy(
                update=Thresholds.model_validate(site.thresholds or {}).model_dump(
                    exclude_none=True
                )
            )
            if site.id in live:
                limits = stricter(limits, live[site.id])
            config = SiteConfig(
                site.id,
                site.code,
                site.probe_mode,
                site.probe_target,
                key,
                limits,
                site.id in live,
                maintenance[site.id].note if site.id in maintenance else None,
            )
            info = SiteInfo(site.name, site.level.value, parent_code or "")
            loaded[site.code] = _Loaded(
                config, info, site.status, site.status_since, site.status_reason
            )
        return loaded

    async def accept_push(self, code: str, offer: str) -> tuple[str, str]:
        monitor = self.monitors.get(code)
        # The site may have been switched to push a moment ago. Not in scale-out, where it is
        # most likely another worker's, and agents re-dialling after a worker died would each
        # cost a reload; the next tick picks a switch up.
        if (monitor is None or monitor.config.mode is not ProbeMode.PUSH) and not self.leases:
            await self.reload()
            monitor = self.monitors.get(code)
        if monitor is None or monitor.config.mode is not ProbeMode.PUSH:
            raise NotProbedError(code)
        return await monitor.accept(offer)

    async def end_push(self, code: str, session: str) -> bool:
        monitor = self.monitors.get(code)
        return monitor is not None and await monitor.end_push(session)
