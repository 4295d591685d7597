"""A worker's hold on its sites in scale-out (PostgreSQL): ticks of the lease table, made safe.

The engine asks `held()` before each reload and probes only what it returns. If the database
cannot be reached, the leases run out and other workers take the sites over; so a worker that
could not renew for half the lease time gives every site up rather than probe it twice.
"""

import asyncio
import logging
import os
import socket
import time
import uuid
from datetime import timedelta

from models import lease
from models.db import SessionMaker

log = logging.getLogger(__name__)
TICK_TIMEOUT_SECONDS = 5.0


def worker_id() -> str:
    """Readable in `monitor_worker` (host and pid) and unique across restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LeaseKeeper:
    def __init__(
        self, sessionmaker: SessionMaker, lease_seconds: float, url: str | None = None
    ) -> None:
        self.id = worker_id()
        self.url = url
        self.lease_seconds = lease_seconds
        self._sessionmaker = sessionmaker
        self._ttl = timedelta(seconds=lease_seconds)
        self._held: frozenset[int] = frozenset()
        self._renewed_at = time.monotonic()
        self.workers = 1

    @property
    def tick_seconds(self) -> float:
        """How often to tick: three chances to renew before a lease runs out."""
        return self.lease_seconds / 3

    async def held(self) -> frozenset[int]:
        """Tick, and return the ids of the sites this worker may probe now."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(TICK_TIMEOUT_SECONDS), self._sessionmaker() as session:
                holding = await lease.tick(session, self.id, self.url, self._ttl)
        except Exception:
            log.exception("renewing site leases failed")
            if time.monotonic() - self._renewed_at > self.lease_seconds / 2 and self._held:
                log.error("site leases not renewed in time: giving every site up")
                self._held = frozenset()
            return self._held
        if holding.site_ids != self._held:
            log.info(
                "site leases changed",
                extra={"sites": len(holding.site_ids), "workers": holding.workers},
            )
        self._renewed_at = started
        self._held = holding.site_ids
        self.workers = holding.workers
        return self._held

    async def leave(self) -> None:
        """Hand every site over now (a clean stop), instead of after the lease time."""
        self._held = frozenset()
        try:
            async with asyncio.timeout(TICK_TIMEOUT_SECONDS), self._sessionmaker() as session:
                await lease.leave(session, self.id)
        except Exception:
            log.exception("could not hand the sites over; they move when the leases expire")
