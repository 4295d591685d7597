"""Figures for `/metrics` read from the database just before a scrape is rendered, within a
time limit; when the database does not answer, the last figures are kept, so the site metrics
(from the engine's memory) are still scraped while it is away."""

import asyncio
import logging
from datetime import datetime
from typing import Generic, TypeVar

from prometheus_client.registry import Collector

from models.base import utcnow
from models.db import SessionMaker, is_outage

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0

Figures = TypeVar("Figures")


class DatabaseFigures(Collector, Generic[Figures]):
    """A collector of figures read by `_read`; `refresh()` before each scrape."""

    def __init__(self, sessionmaker: SessionMaker, empty: Figures) -> None:
        self._sessionmaker = sessionmaker
        self._figures = empty

    async def refresh(self) -> None:
        try:
            self._figures = await asyncio.wait_for(self._read(utcnow()), REFRESH_SECONDS)
        except Exception as error:
            if not (isinstance(error, TimeoutError) or is_outage(error)):
                raise
            log.warning(
                "figures kept from before",
                extra={"figures": type(self).__name__, "error": repr(error)},
            )

    async def _read(self, now: datetime) -> Figures:
        raise NotImplementedError
