"""A simulated fleet of site agents for the demo: one process, one HTTP server, a real aiortc
agent per site, a few of them scripted to drop, flap or degrade, and a few reporting a black
camera or a silent microphone.

Misbehaviour goes through the same userspace relay the tests use (`monitor.simulation.link`): every
packet of a scripted site crosses a relay whose loss and delay change over time, so the monitor
sees exactly what a real bad link would show it.
"""

import asyncio
import hashlib
import logging
from collections.abc import Callable
from enum import StrEnum

import uvicorn

from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.simulation.link import BLACKHOLE, ImpairedPath, Impairment
from monitor.wire.ice import restrict_host_addresses, rtc_configuration
from monitor.wire.protocol import Report

log = logging.getLogger(__name__)

POOR_LINK = Impairment(loss=0.04, delay_seconds=0.18, jitter_seconds=0.03)


class Behaviour(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"  # a poor link all the time
    FLAPPING = "flapping"  # drops for a few seconds every minute
    DROPPING = "dropping"  # down for a minute every five


def _stable_number(code: str, low: int, high: int) -> int:
    digest = hashlib.sha256(code.encode()).digest()
    return low + int.from_bytes(digest[:4], "big") % (high - low + 1)


def behaviour_of(code: str) -> Behaviour:
    """About 3 % of sites drop, 3 % flap and 5 % degrade; the same sites every run."""
    roll = _stable_number(code, 0, 99)
    if roll < 3:
        return Behaviour.DROPPING
    if roll < 6:
        return Behaviour.FLAPPING
    if roll < 11:
        return Behaviour.DEGRADED
    return Behaviour.HEALTHY


def room_of(code: str) -> Report:
    """What the site says of its room: about 2 % have a black camera and 2 % a silent
    microphone (rolled apart from the link's behaviour, so a room fault shows on its own)."""
    attendance = _stable_number(code, 12, 40)
    roll = _stable_number(f"room {code}", 0, 99)
    if roll < 2:
        return Report(attendance=attendance, camera="black", microphone="ok", camera_luma=3.0)
    if roll < 4:
        return Report(attendance=attendance, camera="ok", microphone="silent", microphone_dbfs=-100)
    return Report(attendance=attendance, camera="ok", microphone="ok")


def _room(code: str) -> Callable[[], Report]:
    report = room_of(code)
    return lambda: report


async def _script(code: str, path: ImpairedPath, behaviour: Behaviour) -> None:
    """Change the site's link over time; runs until cancelled."""
    if behaviour is Behaviour.DEGRADED:
        path.impairment = POOR_LINK
        return
    bad_seconds, period = (60.0, 300.0) if behaviour is Behaviour.DROPPING else (6.0, 60.0)
    await asyncio.sleep(_stable_number(code, 20, int(period)))
    while True:
        path.impairment = BLACKHOLE
        await asyncio.sleep(bad_seconds)
        path.impairment = Impairment.NONE
        await asyncio.sleep(period - bad_seconds)


async def run_fleet(secrets: dict[str, str], host: str, port: int, stop: asyncio.Event) -> None:
    """Serve one agent per site at http://HOST:PORT/<code> until `stop` is set (or a signal
    stops the server). Not cancelled: a server cut short logs its lifespan as failed."""
    restrict_host_addresses([host])
    rtc = rtc_configuration([])
    agents: dict[str, SiteAgent] = {}
    scripts: list[asyncio.Task[None]] = []
    for code, secret in secrets.items():
        behaviour = behaviour_of(code)
        # Scripted sites get a relay from the start, so their link can change mid-session.
        path = None if behaviour is Behaviour.HEALTHY else ImpairedPath()
        agents[code] = SiteAgent(code, secret, rtc, _room(code), path)
        if path is not None:
            scripts.append(asyncio.create_task(_script(code, path, behaviour)))
    counts = {b.value: sum(behaviour_of(c) is b for c in secrets) for b in Behaviour}
    counts["room_faults"] = sum(
        room_of(c).camera != "ok" or room_of(c).microphone != "ok" for c in secrets
    )
    log.info("simulated fleet ready", extra={"sites": len(agents), **counts})
    server = uvicorn.Server(
        uvicorn.Config(agent_app(agents), host=host, port=port, log_config=None, access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await serving
    finally:
        stopped.cancel()
        for task in scripts:
            task.cancel()
        await asyncio.gather(*(agent.close() for agent in agents.values()))
