"""The moment the server begins to stop (SIGTERM from Docker or systemd, Ctrl-C).

Uvicorn waits for open responses before it stops, and a live stream never ends by itself: it
was cut after the graceful timeout, with an error and a traceback per dashboard in the log. The
server announces its stop here first, and the streams end on their own, at once and cleanly.
"""

import asyncio
from types import FrameType

import uvicorn


class Stopping:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> None:
        """Called on the serving loop (at start-up): where `announce` is delivered."""
        self._loop = asyncio.get_running_loop()

    def announce(self) -> None:
        """Safe from a signal handler: the event is set on its own loop's next turn."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.event.set)


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that announces its stop to the application before it begins."""

    def __init__(self, config: uvicorn.Config, stopping: Stopping) -> None:
        super().__init__(config)
        self._stopping = stopping

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._stopping.announce()
        super().handle_exit(sig, frame)
