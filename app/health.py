"""Liveness (`/healthz`), readiness (`/readyz`: the database answers), and the watch on the
database that tells the live stream when it cannot be reached.

In scale-out the API process learns what the workers observe through the database itself: while
it is out, a dashboard would show its last statuses as if nothing had happened. The watch lets
the stream say so.
"""

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import text

from models.base import utcnow
from models.db import SessionMaker

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
READY_TIMEOUT_SECONDS = 3.0
WATCH_SECONDS = 5.0


class DatabaseWatch:
    """Whether the database answers: checked every few seconds, and told by reads that fail."""

    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sessionmaker = sessionmaker
        self.reachable = True
        self.since: datetime = utcnow()
        self._changed = asyncio.Event()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            await self.check()

    async def check(self) -> bool:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), self._sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not reachable", whatever the driver raised
            self.failed(exc)
        else:
            self._set(reachable=True)
        return self.reachable

    def failed(self, error: BaseException) -> None:
        if self.reachable:
            log.warning("database not reachable", extra={"error": type(error).__name__})
        self._set(reachable=False)

    async def change(self) -> None:
        """Returns when `reachable` next changes."""
        await self._changed.wait()

    def _set(self, *, reachable: bool) -> None:
        if reachable != self.reachable:
            self.reachable, self.since = reachable, utcnow()
            if reachable:
                log.info("database reachable again")
            self._changed.set()  # wakes whoever waits for this change; later ones wait anew
            self._changed = asyncio.Event()

    def public(self) -> dict[str, Any]:
        return {"database": "ok" if self.reachable else "unreachable", "since": self.since}


def database_watch(request: Request) -> DatabaseWatch:
    watch: DatabaseWatch = request.state.database
    return watch


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The service can serve: its database answers")
async def readyz(watch: Annotated[DatabaseWatch, Depends(database_watch)]) -> dict[str, str]:
    if not await watch.check():
        raise HTTPException(503, "database not reachable")
    return {"status": "ready"}
