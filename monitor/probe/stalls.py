"""When the monitor itself stood still, so its own pauses are not blamed on a site.

Two kinds are seen: garbage collections (exactly, from the collector's callbacks) and any other
stall of the event loop (a starved CPU, blocking code), from a timer that ticks often and finds
itself late. A full collection over a thousand connections' objects stops the whole process for
a few hundred milliseconds (measured: ~270 ms at 1,000 sites). A ping in flight meanwhile would
carry the pause in its RTT, and an expiry timer due meanwhile would fire before the pong that
already arrived is read: the site would look slow, or lost, for the monitor's fault. The
heartbeat asks this log whether such a pause overlapped a ping and then neither times it nor
calls it missed.
"""

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

NOTICEABLE_SECONDS = 0.005  # young collections take well under this; they change nothing
TICK_SECONDS = 0.02
# A tick this late is a stall: below it, the error it puts in an RTT stays under the jitter
# limit's scale (30 ms); a busy loop at 1,000 sites runs its iterations in a few ms.
STALL_SECONDS = 0.02


class StallLog:
    def __init__(self) -> None:
        self._started = 0.0
        self.last_end = 0.0  # perf_counter() when the last noticeable pause ended

    def stalled_since(self, moment: float) -> bool:
        """Did a noticeable pause end after `moment` (a `time.perf_counter()` value)?"""
        return self.last_end > moment

    async def watch_loop(self, on_lag: Callable[[float], None] = lambda _: None) -> None:
        """Tick every TICK_SECONDS; a late tick means the loop stood still that long.

        After a stall a timer runs in the loop's first turn, before the pongs that waited in the
        socket buffers have climbed through DTLS and SCTP: they find the stall noted.
        """
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TICK_SECONDS)
            now = time.perf_counter()
            lateness = max(0.0, now - started - TICK_SECONDS)
            on_lag(lateness)
            if lateness >= STALL_SECONDS:
                self.last_end = now

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._started = now
        elif now - self._started >= NOTICEABLE_SECONDS:
            self.last_end = now


# One per process: the collector is too.
OWN_STALLS = StallLog()
gc.callbacks.append(OWN_STALLS.on_gc)
