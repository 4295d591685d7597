"""One watched site: how it is reached (`monitor.probe.reach`: dialled, or dialling in) and what
is measured once it is (`monitor.probe.site_probe`), started and stopped together."""

import asyncio
import logging

from models.site import ProbeMode
from monitor.probe.full_check import check
from monitor.probe.metrics import SiteSnapshot
from monitor.probe.reach import PullReach, PushReach, Reaching
from monitor.probe.site_probe import SiteConfig, SiteProbe

log = logging.getLogger(__name__)


class SiteMonitor:
    def __init__(self, probe: SiteProbe, reaching: Reaching) -> None:
        self.probe = probe
        self._reach = (
            PullReach(probe, reaching)
            if probe.config.mode is ProbeMode.PULL
            else PushReach(probe, reaching)
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._windows: asyncio.Task[None] | None = None

    @property
    def config(self) -> SiteConfig:
        return self.probe.config

    def start(self) -> None:
        code = self.config.code
        self._windows = asyncio.create_task(self.probe.windows(), name=f"site {code}")
        reaching = [asyncio.create_task(job, name=f"site {code}") for job in self._reach.jobs()]
        self._tasks = [self._windows, *reaching]

    def hush(self) -> None:
        """Stop measuring and pinging at once, cheaply: no window closes any more (a window
        without pings would read as lost), and the connection is left for `stop` to close."""
        if self._windows is not None:
            self._windows.cancel()
        self.probe.hush()

    async def stop(self) -> None:
        tasks = [*self._tasks]
        if isinstance(self._reach, PushReach):
            tasks += self._reach.tasks()
        for task in tasks:
            task.cancel()
        if tasks:
            # Not `await task`, which would swallow a cancellation of `stop` itself, and the
            # engine bounds how long stopping takes by cancelling it.
            await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.error("site task failed", exc_info=task.exception())

    @property
    def accepts_agents(self) -> bool:
        """Push mode: the site's agent dials in."""
        return isinstance(self._reach, PushReach)

    async def accept(self, offer: str) -> tuple[str, str]:
        """Its agent dialled in (push only): the SDP answer and the session id."""
        assert isinstance(self._reach, PushReach)
        return await self._reach.accept(offer)

    async def end_push(self, session: str) -> bool:
        return isinstance(self._reach, PushReach) and await self._reach.end(session)

    async def full_check(self, heartbeat_wait: float) -> list[str]:
        """A full check now (`monitor.probe.full_check`); what failed, in words."""
        probe = self.probe
        return await check(
            lambda: probe.answers(heartbeat_wait), self._reach.check_media, lambda: probe.report
        )

    def snapshot(self, name: str, level: str, parent: str) -> SiteSnapshot:
        return self.probe.snapshot(name, level, parent)
