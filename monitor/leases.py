"""A worker's hold on its sites in scale-out (PostgreSQL): ticks of the lease table, made safe.

The keeper ticks on its own, every third of the lease time, whatever the engine is doing (a
reload stopping 1,000 sites must not delay a renewal), and tells the engine when the set of
sites it holds changes; the engine probes only `held`. If the database cannot be reached, the
leases run out and other workers take the sites over; so a worker that could not renew for
half the lease time gives every site up rather than probe it twice.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
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
        self.held: frozenset[int] = frozenset()  # the sites this worker may probe now
        self._tick_requested = asyncio.Event()
        self._renewed_at = time.monotonic()
        self.workers = 1

    @property
    def tick_seconds(self) -> float:
        """How often to tick: three chances to renew before a lease runs out."""
        return self.lease_seconds / 3

    async def run(self, changed: Callable[[], None]) -> None:
        """Tick for as long as the worker runs; `changed()` when the held sites change."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tick_requested.wait(), self.tick_seconds)
            self._tick_requested.clear()
            before = self.held
            await self.tick()
            if self.held != before:
                changed()

    def request_tick(self) -> None:
        """Sites were added or edited: claim what is new now, not at the next tick."""
        self._tick_requested.set()

    async def tick(self) -> None:
        """Renew, claim and give up sites (models.lease.tick); `held` is the outcome."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(TICK_TIMEOUT_SECONDS), self._sessionmaker() as session:
                holding = await lease.tick(session, self.id, self.url, self._ttl)
        except Exception:
            log.exception("renewing site leases failed")
            if time.monotonic() - self._renewed_at > self.lease_seconds / 2 and self.held:
                log.error("site leases not renewed in time: giving every site up")
                self.held = frozenset()
            return
        if holding.site_ids != self.held:
            log.info(
                "site leases changed",
                extra={"sites": len(holding.site_ids), "workers": holding.workers},
            )
        self._renewed_at = started
        self.held = holding.site_ids
        self.workers = holding.workers

    async def leave(self) -> None:
        """Hand every site over now (a clean stop), instead of after the lease time."""
        self.held = frozenset()
        try:
            async with asyncio.timeout(TICK_TIMEOUT_SECONDS), self._sessionmaker() as session:
                await lease.leave(session, self.id)
        except Exception:
            log.exception("could not hand the sites over; they move when the leases expire")
