"""`/metrics`: Prometheus text exposition (OpenMetrics when the scraper asks for it)."""

import asyncio
import gzip
import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, ProcessCollector, disable_created_metrics
from prometheus_client.exposition import choose_encoder

from app.database_figures import DatabaseFigures
from app.deps import UNAUTHORIZED, SettingsDep
from monitor.probe.engine import ProbeEngine
from monitor.probe.metrics import BuildInfo, SiteCollector

router = APIRouter(tags=["metrics"])
_bearer = HTTPBearer(auto_error=False, description="BRIDGEWATCH_METRICS_TOKEN, when set.")


def build_registry(
    engine: ProbeEngine | None, streams: Callable[[], int], registry: CollectorRegistry
) -> None:
    """Register what /metrics exposes in `registry` (the engine's counters are already there);
    `streams()` is how many live streams are open."""
    # `*_created` series double the counters for no use in PromQL; most exporters drop them.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry.register(BuildInfo())
    ProcessCollector(registry=registry)

    def gauges() -> dict[str, float]:
        values = engine.gauges() if engine is not None else {}
        values["bridgewatch_stream_subscribers"] = float(streams())
        return values

    registry.register(SiteCollector(engine.snapshots if engine else list, gauges))


def _check_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    wanted = settings.metrics_token
    if wanted is None:
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), wanted.get_secret_value().encode()):
        raise HTTPException(401, "this /metrics needs its bearer token", headers=UNAUTHORIZED)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    dependencies=[Depends(_check_token)],
)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.state.registry
    figures: list[DatabaseFigures[Any]] = request.state.figures
    for collector in figures:
        await collector.refresh()
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    compress = "gzip" in request.headers.get("accept-encoding", "")
    # With thousands of sites the exposition takes a few hundred ms of CPU: render it in a
    # thread, so a scrape never holds up the heartbeats running on the event loop.
    body = await asyncio.to_thread(_render, registry, encoder, compress)
    headers = {"Content-Encoding": "gzip"} if compress else {}
    return Response(body, media_type=content_type, headers=headers)


def _render(
    registry: CollectorRegistry, encoder: Callable[[CollectorRegistry], bytes], compress: bool
) -> bytes:
    body = encoder(registry)
    return gzip.compress(body, compresslevel=3) if compress else body
