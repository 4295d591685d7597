"""Scale-out: sites that no worker watches any more are shown as `unknown`, not as they were.

Run by API processes on PostgreSQL. When every worker is gone (or none can take a site), the
last status each wrote would stay on the dashboard forever: an `up` that nobody checks. A site
that nobody has held for a whole lease time turns `unknown` with a reason that says why; the
worker that takes it next finds out its real status.
"""

import asyncio
import logging
from datetime import timedelta

from models.db import SessionMaker
from models.site import SiteStatus
from monitor.probe.events import EventBus, StatusChanged
from monitor.scaleout import queries

log = logging.getLogger(__name__)
UNWATCHED_REASON = "not monitored: no worker holds the site"
SWEEP_TIMEOUT_SECONDS = 10.0


class UnwatchedSweep:
    def __init__(self, sessionmaker: SessionMaker, bus: EventBus, lease_seconds: float) -> None:
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._lease_seconds = lease_seconds

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            try:
                await self.sweep()
            except Exception:
                log.exception("looking for unwatched sites failed; will try again")

    async def sweep(self) -> int:
        grace = timedelta(seconds=self._lease_seconds)
        async with asyncio.timeout(SWEEP_TIMEOUT_SECONDS), self._sessionmaker() as session:
            unwatched = await queries.mark_unwatched(session, grace, UNWATCHED_REASON)
        if unwatched:
            log.warning("sites no worker watches are now unknown", extra={"sites": len(unwatched)})
        for site in unwatched:
            change = StatusChanged(
                site.site_id, site.code, site.old, SiteStatus.UNKNOWN, UNWATCHED_REASON, site.at
            )
            # Relayed: already written; this process's recorder must not write it again.
            self._bus.publish(change, written=True)
        return len(unwatched)
