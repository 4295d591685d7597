"""When the monitor itself stood still, so its own pauses are not blamed on a site.

A full garbage collection over a thousand connections' objects stops the whole process for a few
hundred milliseconds (measured: ~270 ms at 1,000 sites). A ping in flight meanwhile would carry
the pause in its RTT, and an expiry timer due meanwhile would fire before the pong that already
arrived is read: the site would look slow, or lost, for the monitor's fault. The heartbeat asks
this log whether such a pause overlapped a ping and then neither times it nor calls it missed.
"""

import gc
import time
from typing import Any

NOTICEABLE_SECONDS = 0.005  # young collections take well under this; they change nothing


class PauseLog:
    def __init__(self) -> None:
        self._started = 0.0
        self.last_end = 0.0  # perf_counter() when the last noticeable pause ended

    def paused_since(self, moment: float) -> bool:
        """Did a noticeable pause end after `moment` (a `time.perf_counter()` value)?"""
        return self.last_end > moment

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._started = now
        elif now - self._started >= NOTICEABLE_SECONDS:
            self.last_end = now


# One per process: the collector is too.
PAUSES = PauseLog()
gc.callbacks.append(PAUSES.on_gc)
