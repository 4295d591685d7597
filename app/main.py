"""The FastAPI application: wires the database (and later the probe engine) at start-up."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from app import dashboard, health, problems
from app.agent_cors import AgentCors
from app.api import agents, conferences, incidents, sites, stream, tokens
from app.deps import State
from app.metrics import build_registry
from app.metrics import router as metrics_router
from models import migrations
from models.db import create_engine, create_sessionmaker
from models.settings import Settings
from models.topology.builtin import seed_if_empty
from monitor.engine import Engine
from monitor.events import EventBus
from monitor.metrics import EngineMetrics

log = logging.getLogger(__name__)

DESCRIPTION = """
BridgeWatch watches every remote bridge point (điểm cầu) of a hybrid conference.

Authenticate with `Authorization: Bearer <token>` (create the first with
`bridgewatch tokens create --role admin`). Roles: **viewer** reads, **operator** edits sites and
acknowledges incidents, **admin** manages tokens and conferences.
Errors are `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[State]:
        engine = create_engine(settings.resolved_database_url)
        try:
            if settings.auto_migrate:
                await migrations.upgrade(engine)
            sessionmaker = create_sessionmaker(engine)
            if settings.seed_topology:
                seeded = await seed_if_empty(sessionmaker, settings.seed_topology)
                if seeded:
                    log.info(
                        "loaded built-in topology",
                        extra={"topology": settings.seed_topology, "sites": seeded.created},
                    )
            registry = CollectorRegistry()
            engine_metrics = EngineMetrics(registry)
            bus = EventBus(
                on_drop=lambda name, n: engine_metrics.dropped_events.labels(name).inc(n)
            )
            probe_engine = None
            if settings.engine:
                probe_engine = Engine(settings, sessionmaker, bus, engine_metrics)
                await probe_engine.start()
            build_registry(probe_engine, bus, registry)
            try:
                yield {
                    "settings": settings,
                    "sessionmaker": sessionmaker,
                    "bus": bus,
                    "engine": probe_engine,
                    "registry": registry,
                    "snapshots": stream.SnapshotReader(sessionmaker),
                }
            finally:
                if probe_engine is not None:
                    await probe_engine.stop()
        finally:
            await engine.dispose()

    app = FastAPI(
        title="BridgeWatch",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    problems.install(app)
    api = APIRouter(prefix="/api/v1")
    for router in (
        sites.router,
        sites.summary_router,
        conferences.router,
        incidents.router,
        tokens.router,
        agents.router,
        stream.router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(metrics_router)
    dashboard.install(app)
    if settings.agent_origins:
        app.add_middleware(AgentCors, origins=settings.agent_origins)
    return app
