"""The real service plus a status-change injector, for the dashboard and stream benchmarks.

    python -m bench.service --port P      (settings from BRIDGEWATCH_* as for `bridgewatch serve`)

This is `bridgewatch serve` (same `create_app`, same uvicorn settings) with two extra routes:

- `POST /bench/changes?rate=100&seconds=30` starts publishing `rate` `StatusChanged` events a
  second on the service's own event bus, as the probe engine would, for `seconds`;
- `GET /bench/changes` tells how many were published and each changed site's last status.

3,321 real agents cannot be run on one small machine (see the engine section of
docs/BENCHMARKS.md), so this is how 100 changes a second reach the live stream. The sites and
statuses follow the pattern of the national-topology dashboard test (`tests.browser.BURST_JS`):
change k goes to the (7k mod N)-th site by code, statuses cycle through all five. Each event's
`at` is the wall-clock time it was published, and the stream sends it on as `status_since`:
that is the mark stream clients measure their delivery lag from.
"""

import argparse
import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import select

from app import logs
from app.main import create_app
from models.base import utcnow
from models.db import SessionMaker
from models.settings import Settings
from models.site import Site, SiteStatus
from monitor.probe.events import EventBus, StatusChanged

CYCLE = [
    SiteStatus.DOWN,
    SiteStatus.DEGRADED,
    SiteStatus.UP,
    SiteStatus.PAUSED,
    SiteStatus.UNKNOWN,
]
PER_ROUND = 50  # BURST_JS's round: 50 sites every 0.5 s
TICK_SECONDS = 0.01


@dataclass
class Injection:
    """One run of the injector: what it published so far."""

    planned: int
    published: int = 0
    statuses: dict[str, str] = field(default_factory=dict)
    task: "asyncio.Task[None] | None" = None


@dataclass
class Target:
    id: int
    code: str
    status: SiteStatus


async def _sites(sessionmaker: SessionMaker) -> list[Target]:
    async with sessionmaker() as session:
        rows = await session.execute(select(Site.id, Site.code, Site.status).order_by(Site.code))
    return [Target(site_id, code, status) for site_id, code, status in rows]


def _change(sites: list[Target], k: int) -> StatusChanged:
    """Change number k, in the order and with the statuses BURST_JS uses."""
    site = sites[k * 7 % len(sites)]
    new = CYCLE[(k // PER_ROUND + k % PER_ROUND) % len(CYCLE)]
    change = StatusChanged(site.id, site.code, site.status, new, f"bench change {k}", utcnow())
    site.status = new
    return change


async def inject(bus: EventBus, sites: list[Target], rate: float, run: Injection) -> None:
    """Publishes on a fixed schedule from the start time, catching up after a late wake-up,
    so a busy loop delays changes (which the lag then shows) instead of dropping them."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while run.published < run.planned:
        due = min(run.planned, int((loop.time() - start) * rate) + 1)
        while run.published < due:
            change = _change(sites, run.published)
            bus.publish(change)
            run.statuses[change.site_code] = change.new.value
            run.published += 1
        await asyncio.sleep(max(0.0, start + run.published / rate - loop.time()))


def add_injector(app: FastAPI) -> None:
    runs: list[Injection] = []

    @app.post("/bench/changes", status_code=202, include_in_schema=False)
    async def start(request: Request, rate: float = 100, seconds: float = 30) -> dict[str, Any]:
        if runs and runs[-1].task is not None and not runs[-1].task.done():
            raise HTTPException(409, "an injection is running")
        sites = await _sites(request.state.sessionmaker)
        run = Injection(planned=round(rate * seconds))
        run.task = asyncio.create_task(inject(request.state.bus, sites, rate, run))
        runs.append(run)
        return {"planned": run.planned, "pid": os.getpid()}

    @app.get("/bench/changes", include_in_schema=False)
    async def progress() -> dict[str, Any]:
        if not runs:
            raise HTTPException(404, "no injection yet")
        run = runs[-1]
        done = run.task is not None and run.task.done()
        return {"planned": run.planned, "published": run.published, "done": done} | {
            "statuses": run.statuses
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = Settings().model_copy(update={"host": "127.0.0.1", "port": args.port})
    logs.configure(config.log_level, config.log_json)
    app = create_app(config)
    add_injector(app)
    # As app.cli._serve runs it: uvloop and httptools when installed, bounded shutdown.
    uvicorn.run(
        app, host=config.host, port=config.port, log_config=None, timeout_graceful_shutdown=5
    )


if __name__ == "__main__":
    main()
