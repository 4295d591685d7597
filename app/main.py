"""The FastAPI application: wires the database, the probe engine, the live view and scale-out
at start-up, and installs the routes."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from app import agent_page, dashboard, docs, health, problems, task_dump
from app.agent_cors import AgentCors
from app.api import (
    agents,
    attendance,
    checks,
    conferences,
    enrolment,
    incidents,
    maintenance,
    notifications,
    sites,
    stream,
    tokens,
    workers,
)
from app.conference_metrics import ConferenceFigures
from app.database_figures import DatabaseFigures
from app.deps import State
from app.edge import Edge
from app.incident_metrics import IncidentFigures
from app.live_view import LiveView
from app.metrics import build_registry
from app.metrics import router as metrics_router
from app.stopping import Stopping
from models import migrations
from models.db import SessionMaker, asyncpg_dsn, create_engine, create_sessionmaker
from models.settings import Settings
from models.topology.builtin import seed_if_empty
from monitor.notify.service import Notifications
from monitor.probe.engine import ProbeEngine
from monitor.probe.events import EventBus
from monitor.probe.metrics import ProbeMetrics
from monitor.scaleout import queries
from monitor.scaleout.fanout import ChannelListener, FanOutListener, FanOutPublisher
from monitor.scaleout.leases import LeaseKeeper
from monitor.scaleout.unwatched import UnwatchedSweep

log = logging.getLogger(__name__)

DESCRIPTION = """
BridgeWatch watches every remote bridge point (điểm cầu) of a hybrid conference.

Authenticate with `Authorization: Bearer <token>` (create the first with
`bridgewatch tokens create --role admin`). Roles: **viewer** reads, **operator** edits sites and
acknowledges incidents, **admin** manages tokens and conferences.
Errors are `application/problem+json`.
"""


def create_app(settings: Settings | None = None, *, worker: bool = False) -> FastAPI:
    """The service; with `worker`, a scale-out monitor worker: the probe engine, its
    `/metrics` and health, and the push agents' signaling, with no API or dashboard."""
    settings = settings or Settings()
    stopping = Stopping()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[State]:
        stopping.bind()
        engine = create_engine(settings.resolved_database_url)
        background: list[asyncio.Task[None]] = []
        live: LiveView | None = None
        try:
            sessionmaker = create_sessionmaker(engine)
            if not worker:  # workers find the schema and the sites ready (`bridgewatch worker`)
                await _prepare_database(settings, engine, sessionmaker)
            registry = CollectorRegistry()
            engine_metrics = ProbeMetrics(registry)
            bus = EventBus(
                on_drop=lambda name, n: engine_metrics.dropped_events.labels(name).inc(n)
            )
            database = health.DatabaseWatch(sessionmaker)
            live = LiveView(sessionmaker, bus, database, stopping.event)
            if not worker:  # the dashboard's: before the engine, whose first events it follows
                await live.start()
            probe_engine = None
            if settings.engine or worker:
                probe_engine = _probe_engine(settings, sessionmaker, bus, engine_metrics)
                await probe_engine.start()
            background = _scale_out(
                settings, sessionmaker, bus, probe_engine, None if worker else live
            )
            background.append(asyncio.create_task(database.run(), name="database watch"))
            if probe_engine is not None:
                background.append(
                    asyncio.create_task(
                        _stop_at_signal(probe_engine, stopping), name="engine stop at signal"
                    )
                )
            build_registry(probe_engine, lambda: live.client_count, registry)
            notifier = Notifications(sessionmaker, settings, registry) if settings.notify else None
            if notifier is not None:
                notifier.start()
            # The API's: workers would repeat the same figures.
            figures: list[DatabaseFigures[Any]] = []
            if not worker:
                figures = [ConferenceFigures(sessionmaker), IncidentFigures(sessionmaker)]
            for collector in figures:
                registry.register(collector)
            try:
                with task_dump.on_sigusr1():
                    yield {
                        "settings": settings,
                        "sessionmaker": sessionmaker,
                        "bus": bus,
                        "probe_engine": probe_engine,
                        "registry": registry,
                        "live": live,
                        "database": database,
                        "stopping": stopping,
                        "figures": figures,
                    }
            finally:
                if probe_engine is not None:
                    await probe_engine.stop()
                if notifier is not None:  # after the engine: its last incidents are queued
                    await notifier.stop()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if live is not None:
                await live.stop()
            await engine.dispose()

    app = FastAPI(
        title="BridgeWatch",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # app/docs.py serves it without a CDN
        redoc_url=None,
    )
    app.state.stopping = stopping  # the server announces its stop here (app/stopping.py)
    problems.install(app)
    app.add_middleware(Edge)  # NUL in URLs, oversized bodies: refused before anything runs
    app.include_router(health.router)
    app.include_router(metrics_router)
    if worker:
        app.include_router(agents.router, prefix="/api/v1")
        return app
    api = APIRouter(prefix="/api/v1")
    for router in (
        sites.router,
        sites.summary_router,
        attendance.router,
        conferences.router,
        checks.router,
        incidents.router,
        maintenance.router,
        maintenance.site_router,
        notifications.channels_router,
        notifications.rules_router,
        notifications.messages_router,
        tokens.router,
        agents.router,
        enrolment.router,
        enrolment.agent_router,
        stream.router,
        workers.router,
    ):
        api.include_router(router)
    app.include_router(api)
    dashboard.install(app)
    agent_page.install(app)
    docs.install(app)
    if settings.agent_origins:
        app.add_middleware(AgentCors, origins=settings.agent_origins)
    return app


async def _prepare_database(
    settings: Settings, engine: AsyncEngine, sessionmaker: SessionMaker
) -> None:
    if settings.auto_migrate:
        await migrations.upgrade(engine)
    if settings.seed_topology:
        seeded = await seed_if_empty(sessionmaker, settings.seed_topology)
        if seeded:
            log.info(
                "loaded built-in topology",
                extra={"topology": settings.seed_topology, "sites": seeded.created},
            )


async def _stop_at_signal(probe_engine: ProbeEngine, stopping: Stopping) -> None:
    """The engine stops from the signal on, alongside the server's own shutdown (which waits
    for open requests first): Docker's 10 s count from the signal, not from the lifespan's end."""
    await stopping.event.wait()
    await probe_engine.stop()


def _probe_engine(
    settings: Settings, sessionmaker: SessionMaker, bus: EventBus, metrics: ProbeMetrics
) -> ProbeEngine:
    leases = None
    if settings.scale_out:  # other engines may share the database
        leases = LeaseKeeper(
            settings.resolved_database_url, settings.lease_seconds, settings.resolved_worker_url
        )
    return ProbeEngine(settings, sessionmaker, bus, metrics, leases)


def _scale_out(
    settings: Settings,
    sessionmaker: SessionMaker,
    bus: EventBus,
    probe_engine: ProbeEngine | None,
    live: LiveView | None,
) -> list[asyncio.Task[None]]:
    """On PostgreSQL: engines publish what they observe and reload as soon as a site is edited
    anywhere; API processes (those with a live view) listen, so the live stream shows the sites
    of every worker and every edit, and mark the sites that no worker watches."""
    if not settings.scale_out:
        return []
    dsn = asyncpg_dsn(settings.resolved_database_url)
    own = probe_engine.leases.id if probe_engine and probe_engine.leases else None
    jobs: dict[str, Coroutine[Any, Any, None]] = {}
    told: list[Callable[[], None]] = []  # of an edit, and on listening (edits before)
    if own is not None and probe_engine is not None:
        jobs["fan-out out"] = FanOutPublisher(dsn, bus, own).run()
        told.append(probe_engine.request_reload)
    if live is not None:
        jobs["fan-out in"] = FanOutListener(dsn, bus, own).run()
        jobs["unwatched sites"] = UnwatchedSweep(sessionmaker, bus, settings.lease_seconds).run()
        told.append(live.site_edited)
    if told:

        def edited() -> None:
            for tell in told:
                tell()

        edits = ChannelListener(dsn, queries.SITE_EDITS_CHANNEL, lambda _: edited(), edited)
        jobs["site edits"] = edits.run()
    return [asyncio.create_task(job, name=name) for name, job in jobs.items()]
