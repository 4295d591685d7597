"""Notifications in a running process: the dispatcher and the sender, started and stopped."""

import asyncio

from prometheus_client import CollectorRegistry

from models.db import SessionMaker
from models.settings import Settings
from monitor.notify.dispatcher import Dispatcher
from monitor.notify.metrics import NotifyMetrics
from monitor.notify.sender import Sender


class Notifications:
    def __init__(
        self, sessionmaker: SessionMaker, settings: Settings, registry: CollectorRegistry
    ) -> None:
        self.metrics = NotifyMetrics(registry)
        self.dispatcher = Dispatcher(sessionmaker, settings)
        self.sender = Sender(sessionmaker, settings, self.metrics)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.dispatcher.run(), name="notification dispatcher"),
            asyncio.create_task(self.sender.run(), name="notification sender"),
        ]

    async def stop(self) -> None:
        """Let a delivery under way finish and write its outcome (not cancelled: a cancelled
        send could be delivered and not recorded, and go out again)."""
        self.dispatcher.stop()
        self.sender.stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)
