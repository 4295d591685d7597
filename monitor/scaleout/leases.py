"""A worker's hold on its sites in scale-out (PostgreSQL): ticks of the lease table, made safe.

The keeper ticks in a thread of its own, with its own event loop and database connection. At
8:00 a worker's probe loop is busy with hundreds of DTLS handshakes and each of its turns can
take seconds; a renewal made on that loop timed out, the worker gave every site up, the other
worker took them all and choked in turn (a 3,321-site run, docs/BENCHMARKS.md). So a busy probe
loop no longer costs a worker its sites; a probe loop that truly stalls does: the keeper stops
renewing when the loop has not checked in for half the lease time.

If the database cannot be reached, the leases run out and other workers take the sites over;
so a worker that could not renew for half the lease time gives every site up rather than probe
it twice. The engine probes only `held`, and is told when it changes.
"""

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from models.db import SessionMaker, create_engine, create_sessionmaker
from monitor.scaleout import queries

log = logging.getLogger(__name__)
TICK_TIMEOUT_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 10.0


def worker_id() -> str:
    """Readable in `monitor_worker` (host and pid) and unique across restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LeaseKeeper:
    def __init__(self, database_url: str, lease_seconds: float, url: str | None = None) -> None:
        self.id = worker_id()
        self.url = url
        self.lease_seconds = lease_seconds
        self.held: frozenset[int] = frozenset()  # the sites this worker may probe now
        self.workers = 1
        self._database_url = database_url
        self._ttl = timedelta(seconds=lease_seconds)
        self._renewed_at = time.monotonic()
        self._checked_in_at = time.monotonic()  # by the probe loop
        self._thread: threading.Thread | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None  # of the keeper's own loop: tick now
        self._stop_requested = threading.Event()
        self._first_tick: asyncio.Future[None] | None = None  # of the probe loop

    @property
    def tick_seconds(self) -> float:
        """How often to tick: three chances to renew before a lease runs out."""
        return self.lease_seconds / 3

    def start(self, changed: Callable[[], None]) -> asyncio.Task[None]:
        """Start ticking. `changed()` is called on this loop when the held sites change. The
        returned task checks this loop in: cancel it with the other tasks of the engine."""
        probe_loop = asyncio.get_running_loop()
        self._first_tick = first_tick = probe_loop.create_future()

        def report(first: bool) -> None:
            if first and not first_tick.done():
                first_tick.set_result(None)
            else:  # also a first tick that came after `first_tick()` gave up waiting
                changed()

        def notify(first: bool) -> None:
            with contextlib.suppress(RuntimeError):  # the probe loop has ended: nobody to tell
                probe_loop.call_soon_threadsafe(report, first)

        self._thread = threading.Thread(
            target=asyncio.run, args=(self._run(notify),), name="site leases", daemon=True
        )
        self._thread.start()
        return asyncio.create_task(self._check_in(), name="site leases check-in")

    async def first_tick(self) -> None:
        """Wait until the first tick is done (or has failed): `held` is meaningful from then."""
        if self._first_tick is not None:
            await self._first_tick

    def request_tick(self) -> None:
        """Sites were added or edited: claim what is new now, not at the next tick."""
        if self._own_loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # its loop has ended already
                self._own_loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        """Hand every site over now (a clean stop), instead of after the lease time."""
        self.held = frozenset()
        if self._thread is None:
            return
        self._stop_requested.set()
        self.request_tick()  # wakes the keeper, which then sees the stop
        await asyncio.to_thread(self._thread.join, STOP_TIMEOUT_SECONDS)

    async def _check_in(self) -> None:
        while True:
            self._checked_in_at = time.monotonic()
            await asyncio.sleep(self.tick_seconds / 4)

    # -- in the keeper's own thread ---------------------------------------------------------

    async def _run(self, notify: Callable[[bool], None]) -> None:
        self._own_loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        engine = create_engine(self._database_url)
        sessionmaker = create_sessionmaker(engine)
        try:
            first = True
            while not self._stop_requested.is_set():
                before = self.held
                await self._tick(sessionmaker)
                if first or self.held != before:
                    notify(first)
                first = False
                await self._wait_for_next_tick()
            await self._leave(sessionmaker)
        finally:
            await engine.dispose()

    async def _wait_for_next_tick(self) -> None:
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.tick_seconds)
        self._wake.clear()

    async def _tick(self, sessionmaker: SessionMaker) -> None:
        started = time.monotonic()
        try:
            if started - self._checked_in_at > self.lease_seconds / 2:
                raise TimeoutError("the probe loop has not checked in: it is stalled")
            async with asyncio.timeout(TICK_TIMEOUT_SECONDS), sessionmaker() as session:
                holding = await queries.tick(session, self.id, self.url, self._ttl)
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

    async def _leave(self, sessionmaker: SessionMaker) -> None:
        self.held = frozenset()
        try:
            async with asyncio.timeout(TICK_TIMEOUT_SECONDS), sessionmaker() as session:
                await queries.leave(session, self.id)
        except Exception:
            log.exception("could not hand the sites over; they move when the leases expire")
