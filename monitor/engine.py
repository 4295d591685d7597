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
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from models.auth import AgentCredential
from models.base import utcnow
from models.db import SessionMaker
from models.settings import Settings
from models.site import ProbeMode, Site, SiteStatus
from models.thresholds import Thresholds
from monitor.events import EventBus
from monitor.ice import restrict_host_addresses, rtc_configuration
from monitor.metrics import EngineMetrics, SiteSnapshot
from monitor.pauses import PAUSES
from monitor.recorder import Recorder, prune_samples
from monitor.site_monitor import EngineContext, SiteConfig, SiteMonitor
from monitor.status import Policy, StatusMachine

log = logging.getLogger(__name__)
RELOAD_SECONDS = 10.0
RETENTION_SECONDS = 3600.0
RECORDER_STOP_SECONDS = 5.0
CLOSE_ALL_SECONDS = 4.0


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


class NotProbedError(Exception):
    """The site exists but the engine does not watch it (disabled, or not in push mode)."""


class Engine:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: SessionMaker,
        bus: EventBus,
        metrics: EngineMetrics,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.metrics = metrics
        self._sessionmaker = sessionmaker
        self.monitors: dict[str, SiteMonitor] = {}
        self.info: dict[str, SiteInfo] = {}
        self._reload_requested = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.setup_timeout_seconds, connect=5.0),
            limits=httpx.Limits(max_connections=settings.max_concurrent_setups * 2),
        )
        restrict_host_addresses(settings.ice_host_addresses)
        self._context = EngineContext(
            settings=settings,
            bus=bus,
            setup_slots=asyncio.Semaphore(settings.max_concurrent_setups),
            rtc=rtc_configuration(settings.ice_servers),
            http=self._http,
            metrics=metrics,
        )
        self.recorder = Recorder(sessionmaker, bus, settings.recorder_flush_seconds)

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.recorder.run(), name="recorder"))
        self._tasks.append(asyncio.create_task(self._reload_loop(), name="engine reload"))
        self._tasks.append(
            asyncio.create_task(PAUSES.watch_loop(self.metrics.loop_lag.observe), name="loop lag")
        )
        self._tasks.append(asyncio.create_task(self._retention(), name="retention"))

    async def stop(self) -> None:
        """The recorder writes its last batch while the connections close, and the wait for
        closing is bounded (an agent whose session was not ended notices the silence on its
        own). At 1,000 sites stopping still takes ~14 s: the closes keep the loop busy."""
        for task in self._tasks[1:]:
            task.cancel()
        monitors = list(self.monitors.values())
        self.monitors.clear()
        closing = asyncio.gather(*(m.stop() for m in monitors))
        recorder = self._tasks[0] if self._tasks else None  # None: never started
        if recorder is not None:
            self.recorder.stop()
        try:
            await asyncio.wait_for(closing, CLOSE_ALL_SECONDS)
        except TimeoutError:
            log.warning("site connections left open at stop", extra={"sites": len(monitors)})
        if recorder is not None:
            try:
                await asyncio.wait_for(recorder, RECORDER_STOP_SECONDS)
            except TimeoutError:
                log.error("the database did not take the last writes in time; they are lost")
        await self._http.aclose()

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
        }

    def request_reload(self) -> None:
        """Sites changed (API, import): pick the change up now instead of at the next poll."""
        self._reload_requested.set()

    async def _reload_loop(self) -> None:
        # A database that is down at start-up must not stop the service from starting
        # (`/readyz` says 503 meanwhile): keep trying.
        while True:
            self._reload_requested.clear()
            try:
                await self.reload()
            except Exception:
                log.exception("reloading sites failed; keeping the current set")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reload_requested.wait(), RELOAD_SECONDS)

    async def reload(self) -> None:
        wanted = await self._load()
        self.info = {code: loaded.info for code, loaded in wanted.items()}
        for code in list(self.monitors):
            if code not in wanted or wanted[code].config != self.monitors[code].config:
                await self.monitors.pop(code).stop()
        for code, loaded in wanted.items():
            if code not in self.monitors:
                policy = self._policy(loaded.config.limits)
                machine = StatusMachine(policy, loaded.status, loaded.since)
                monitor = SiteMonitor(loaded.config, self._context, machine)
                self.monitors[code] = monitor
                monitor.start()

    def _policy(self, limits: Thresholds) -> Policy:
        return Policy(
            missed_to_down=self.settings.missed_heartbeats_to_down,
            good_windows_to_up=self.settings.good_windows_to_up,
            limits=limits,
        )

    async def _load(self) -> dict[str, _Loaded]:
        credential = aliased(AgentCredential)
        parent = aliased(Site)
        query = (
            select(Site, credential.monitor_key, parent.code)
            .outerjoin(credential, credential.site_id == Site.id)
            .outerjoin(parent, parent.id == Site.parent_id)
            .where(
                Site.enabled.is_(True),
                or_(
                    Site.probe_mode == ProbeMode.PUSH,
                    (Site.probe_mode == ProbeMode.PULL) & Site.probe_target.is_not(None),
                ),
            )
        )
        async with self._sessionmaker() as session:
            rows = (await session.execute(query)).all()
        defaults = self.settings.thresholds
        loaded = {}
        for site, key, parent_code in rows:
            limits = defaults.model_copy(
                update=Thresholds.model_validate(site.thresholds or {}).model_dump(
                    exclude_none=True
                )
            )
            config = SiteConfig(site.id, site.code, site.probe_mode, site.probe_target, key, limits)
            info = SiteInfo(site.name, site.level.value, parent_code or "")
            loaded[site.code] = _Loaded(config, info, site.status, site.status_since)
        return loaded

    async def accept_push(self, code: str, offer: str) -> tuple[str, str]:
        monitor = self.monitors.get(code)
        if monitor is None or monitor.config.mode is not ProbeMode.PUSH:
            await self.reload()  # the site may have been switched to push a moment ago
            monitor = self.monitors.get(code)
        if monitor is None or monitor.config.mode is not ProbeMode.PUSH:
            raise NotProbedError(code)
        return await monitor.accept(offer)

    async def end_push(self, code: str, session: str) -> bool:
        monitor = self.monitors.get(code)
        return monitor is not None and await monitor.end_push(session)
