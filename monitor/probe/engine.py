"""The probe engine: one `SiteMonitor` per probed site, kept in step with the database.

It restores each site's last known status at start, caps concurrent set-ups globally, runs the
full checks that are due (an operator's request, a conference's pre-flight), and hands
everything it observes to the event bus (recorder, live stream, metrics).
"""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Row, select
from sqlalchemy.orm import aliased

from models.auth import AgentCredential
from models.base import utcnow
from models.db import SessionMaker
from models.settings import Settings
from models.site import ProbeMode, Site, SiteStatus, probed
from models.thresholds import Thresholds, stricter
from monitor.conference.limits import live_limits
from monitor.conference.preflight import preflight_sites
from monitor.maintenance.query import in_maintenance
from monitor.probe import rollups
from monitor.probe.events import EventBus, FullChecked, StatusChanged
from monitor.probe.full_check import CheckPlan, LastCheck, due
from monitor.probe.gc_freeze import keep_frozen
from monitor.probe.group_store import GroupStore
from monitor.probe.grouping import Rule
from monitor.probe.holdings import Holdings
from monitor.probe.metrics import ProbeMetrics, SiteSnapshot
from monitor.probe.monitor_link import observed
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
LOAD_ROWS_PER_TURN = 256  # sites read and turned into configs in one turn of the loop
RETENTION_SECONDS = 3600.0
# Docker kills 10 s after SIGTERM: the whole stop fits in 8 s, leaving the server its own end.
STOP_SECONDS = 8.0
RECORDER_STOP_SECONDS = 4.0
HAND_OVER_MIN_SECONDS = 2.0  # releasing the leases is worth more than closing politely
CLOSE_MIN_SECONDS = 1.0
RETIRE_SECONDS = 30.0
HTTP_CLOSE_SECONDS = 1.0
FIRST_RELOAD_SECONDS = 10.0
CHECK_TICK_SECONDS = 2.0  # how often to look which full checks are due


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
    plan: CheckPlan
    last_check: LastCheck | None


_LOADED_COLUMNS = (
    Site.id,
    Site.code,
    Site.name,
    Site.level,
    Site.probe_mode,
    Site.probe_target,
    Site.thresholds,
    Site.status,
    Site.status_since,
    Site.status_reason,
    Site.full_check_requested_at,
    Site.full_check_at,
    Site.full_check_passed,
)


def _with_own(defaults: Thresholds, own: dict[str, Any] | None) -> Thresholds:
    """The service's thresholds with a site's own over them (most sites have none)."""
    if not own:
        return defaults
    update = Thresholds.model_validate(own).model_dump(exclude_none=True)
    return defaults.model_copy(update=update)


def _loaded(
    site: Row[Any],
    defaults: Thresholds,
    live: Thresholds | None,
    maintenance: str | None,
    preflight_from: datetime | None,
) -> _Loaded:
    """What a site's row (`_LOADED_COLUMNS`, its monitor key and parent's code) says, with the
    limits of a live conference it takes part in and the note of a maintenance it is in."""
    limits = _with_own(defaults, site.thresholds)
    if live is not None:
        limits = stricter(limits, live)
    config = SiteConfig(
        site.id,
        site.code,
        site.probe_mode,
        site.probe_target,
        site.monitor_key,
        limits,
        live is not None,
        maintenance,
    )
    last = (
        LastCheck(site.full_check_at, bool(site.full_check_passed))
        if site.full_check_at is not None
        else None
    )
    return _Loaded(
        config,
        SiteInfo(site.name, site.level.value, site.parent_code or ""),
        site.status,
        site.status_since,
        site.status_reason,
        CheckPlan(preflight_from, site.full_check_requested_at),
        last,
    )


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
        # Each site's row and what it made, at the last reload: a row unchanged since (most,
        # every 10 s) is not made into a config again (docs/BENCHMARKS.md).
        self._made: dict[str, tuple[tuple[Any, ...], _Loaded]] = {}
        self._reload_requested = asyncio.Event()
        # Full checks: what each site's row asks, the last outcome, the request last answered.
        self._plans: dict[str, CheckPlan] = {}
        self._last_checks: dict[str, LastCheck] = {}
        self._answered: dict[str, datetime | None] = {}
        self._checking: dict[str, asyncio.Task[None]] = {}
        self._checks_wanted = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._retiring: set[asyncio.Task[None]] = set()  # monitors a reload is stopping
        self._stopping: asyncio.Future[None] | None = None
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
        self._grouping = GroupStore(
            sessionmaker,
            Rule(settings.group_fraction, timedelta(seconds=settings.group_window_seconds)),
            settings.monitor_link_references,
        )
        self.recorder = Recorder(sessionmaker, bus, settings.recorder_flush_seconds, self._grouping)
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
        self._tasks.append(asyncio.create_task(self._check_loop(), name="full checks"))
        self._tasks.append(asyncio.create_task(keep_frozen(), name="gc freeze"))

    async def stop(self) -> None:
        """Stop once, however often asked (at the server's first signal, and again when its
        lifespan ends); a caller that is cancelled leaves the stop going."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        """Hush, save, hand over, hang up. Every site stops pinging and measuring first, which
        frees a saturated loop at once; the recorder's last batch is then written while the
        loop is quiet, the leases are released (other workers take the sites at once), and
        only then do the connections close, together, for a bounded time (an agent whose
        session was not ended notices the silence on its own)."""
        began = time.monotonic()
        for task in [*self._tasks[1:], *self._checking.values()]:
            task.cancel()
        for monitor in self.monitors.values():
            monitor.hush()
        recorder = self._tasks[0] if self._tasks else None  # None: never started
        if recorder is not None:
            self.recorder.stop()
            if not await clean_up_within(RECORDER_STOP_SECONDS, recorder):
                log.error("the database did not take the last writes in time; they are lost")
        saved = time.monotonic()
        deadline = began + STOP_SECONDS - HTTP_CLOSE_SECONDS
        if self.leases is not None:
            left = max(HAND_OVER_MIN_SECONDS, deadline - saved)
            if not await clean_up_within(left, self.leases.stop()):
                log.error("the leases were not released in time; they expire on their own")
        handed_over = time.monotonic()
        monitors = list(self.monitors.values())
        self.monitors.clear()
        # Every connection closes at once, within what is left of the budget; the rest are
        # abandoned to the process's exit (their agents notice the silence).
        stopping = [*(m.stop() for m in monitors), *self._retiring]
        left = max(CLOSE_MIN_SECONDS, deadline - handed_over)
        if not await clean_up_within(left, *stopping):
            log.warning("site connections left open at stop", extra={"sites": len(monitors)})
        if self._prober is not None:
            self._prober.close()
        await clean_up_within(HTTP_CLOSE_SECONDS, self._http.aclose())
        log.info(
            "probe engine stopped",
            extra={
                "sites": len(monitors),
                "save_seconds": round(saved - began, 2),
                "hand_over_seconds": round(handed_over - saved, 2),
                "close_seconds": round(time.monotonic() - handed_over, 2),
            },
        )

    async def _retention(self) -> None:
        keep = timedelta(days=self.settings.sample_retention_days)
        keep_rollups = timedelta(days=self.settings.rollup_retention_days)
        while True:
            try:
                pruned = await prune_samples(self._sessionmaker, utcnow() - keep)
                pruned_rollups = await rollups.prune(self._sessionmaker, utcnow() - keep_rollups)
                if pruned or pruned_rollups:
                    log.info(
                        "old samples deleted",
                        extra={"samples": pruned, "minute_rollups": pruned_rollups},
                    )
            except Exception:
                log.exception("deleting old samples failed; will try again")
            await asyncio.sleep(RETENTION_SECONDS)

    def snapshots(self) -> list[SiteSnapshot]:
        """Each site as the metrics show it: not observable while the monitor's link is out."""
        unknown = SiteInfo("", "", "")
        link_out = self._grouping.link_out
        snapshots = []
        for code, monitor in list(self.monitors.items()):
            info = self.info.get(code, unknown)
            snapshot = monitor.snapshot(info.name, info.level, info.parent)
            snapshots.append(replace(snapshot, status=observed(snapshot.status, link_out)))
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
        written_through = self.recorder.written_through  # (before the statuses are read)
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
        self._plan_checks(wanted)
        for code, loaded in wanted.items():
            if code in self.monitors:
                self._converge(self.monitors[code].probe, loaded.status, written_through)
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

    def _plan_checks(self, wanted: dict[str, _Loaded]) -> None:
        """What each site's row says of its full checks; a check stored by another worker (or
        before a restart) counts as much as one run here."""
        self._plans = {code: loaded.plan for code, loaded in wanted.items()}
        for code in list(self._last_checks):
            if code not in wanted:
                del self._last_checks[code]
                self._answered.pop(code, None)
        for code, loaded in wanted.items():
            stored = loaded.last_check
            mine = self._last_checks.get(code)
            if stored is not None and (mine is None or stored.at > mine.at):
                self._last_checks[code] = stored
            if code not in self._answered:  # a request older than the stored check is answered
                self._answered[code] = stored.at if stored else None
        self._checks_wanted.set()  # a request that just came in runs now, not at the next tick

    async def _check_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._checks_wanted.wait(), CHECK_TICK_SECONDS)
            self._checks_wanted.clear()
            now = utcnow()
            for code, monitor in list(self.monitors.items()):
                plan = self._plans.get(code)
                if plan is None or code in self._checking:
                    continue
                answered = self._answered.get(code)
                if due(plan, self._last_checks.get(code), answered, monitor.probe.connected, now):
                    asking = plan.requested_at if plan.requested_at is not None else answered
                    self._start_check(monitor, asking)

    def _start_check(self, monitor: SiteMonitor, asking: datetime | None) -> None:
        code = monitor.config.code
        task = asyncio.create_task(self._full_check(monitor, asking), name=f"full check {code}")
        self._checking[code] = task

        def done(finished: asyncio.Task[None]) -> None:
            if self._checking.get(code) is finished:  # not a newer monitor's check
                del self._checking[code]

        task.add_done_callback(done)

    async def _full_check(self, monitor: SiteMonitor, asking: datetime | None) -> None:
        """Check the site; the outcome goes out on the bus (the recorder keeps it on the site's
        row, where readiness reads it)."""
        config = monitor.config
        wait = 2 * (
            self._timings.heartbeat_interval_seconds + self._timings.heartbeat_timeout_seconds
        )
        try:
            failed = await monitor.full_check(wait)
        except Exception:
            log.exception("full check failed to run", extra={"site": config.code})
            failed = ["check could not run"]
        at = utcnow()
        self._last_checks[config.code] = LastCheck(at, not failed)
        self._answered[config.code] = asking
        outcome = "; ".join(failed)
        log.info("full check", extra={"site": config.code, "passed": not failed, "failed": outcome})
        self.metrics.full_checks.labels("failed" if failed else "passed").inc()
        self.bus.publish(FullChecked(config.id, config.code, at, not failed, outcome))

    def _converge(
        self, probe: SiteProbe, stored: SiteStatus, written_through: datetime | None
    ) -> None:
        """A site's stored status follows what its monitor sees, whoever wrote it last.

        Status changes are written once, when they happen. A stored status that drifted from
        the monitor's (the unwatched sweep of another process marked the site `unknown` a
        moment before this worker took it back, after a database outage) would otherwise stay
        wrong for good: nothing re-sends a status that did not change. A status the monitor
        took before the recorder had written everything published (`written_through`, read
        before `stored` was), which the database does not show, is announced again with the
        monitor's reason. One taken since may still be queued: a recorder behind at 3,321
        sites in set-up would otherwise be sent thousands of copies, and fall further behind.
        """
        machine = probe.machine
        if stored is machine.status or written_through is None or machine.since >= written_through:
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

        for monitor in monitors:  # its check would judge a connection being closed
            if (check := self._checking.pop(monitor.config.code, None)) is not None:
                check.cancel()

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
        # Columns, not `Site` objects: at 3,321 sites building the objects held the loop
        # 83 ms in one turn, every reload (docs/BENCHMARKS.md).
        query = (
            select(*_LOADED_COLUMNS, credential.monitor_key, parent.code.label("parent_code"))
            .outerjoin(credential, credential.site_id == Site.id)
            .outerjoin(parent, parent.id == Site.parent_id)
            .where(probed())
        )
        if only is not None:
            query = query.where(Site.id.in_(only))
        made: dict[str, tuple[tuple[Any, ...], _Loaded]] = {}
        async with self._sessionmaker() as session:
            live = await live_limits(session, utcnow())
            preflight = await preflight_sites(session, utcnow())
            maintenance = await in_maintenance(session, utcnow())
            # In parts, each read apart: the loop runs the probes between them (the longest
            # turn of a reload at 3,321 sites: 22 ms read at once, 7 ms in parts).
            result = await session.stream(query)
            async for rows in result.partitions(LOAD_ROWS_PER_TURN):
                for site in rows:
                    note = maintenance[site.id].note if site.id in maintenance else None
                    inputs = (site, live.get(site.id), note, preflight.get(site.id))
                    known = self._made.get(site.code)
                    if known is None or known[0] != inputs:
                        known = (inputs, _loaded(site, self.settings.thresholds, *inputs[1:]))
                    made[site.code] = known
        self._made = made
        return {code: loaded for code, (_, loaded) in made.items()}

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
