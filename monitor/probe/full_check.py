"""A full check of one site, and when one is due.

A full check is what pre-flight readiness asks for: the data channel answers a heartbeat, a
short media check passes where the agent can do one (pull: the monitor dials it with test video;
an agent that dials in cannot be dialled), and, where the agent reports them, its camera and
microphone are present with picture and sound.

One is due when an operator asked for it since the last one, or while the site's conference is in
pre-flight: once a connected site has none since pre-flight opened, and again a while after one
failed (a site fixed by its technician becomes ready without anyone asking).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.probe.status import media_problems
from monitor.wire.protocol import Report

RETRY_FAILED = timedelta(minutes=1)
NO_DATA_CHANNEL = "no data channel"


@dataclass(frozen=True)
class LastCheck:
    at: datetime
    passed: bool


@dataclass(frozen=True)
class CheckPlan:
    """What a site's row says about its full checks."""

    preflight_from: datetime | None  # its conference's pre-flight opened then (None: none now)
    requested_at: datetime | None  # an operator asked for one then


def due(
    plan: CheckPlan,
    last: LastCheck | None,
    answered_request: datetime | None,
    connected: bool,
    now: datetime,
) -> bool:
    """Whether to check the site now; `answered_request` is the request the last check asked
    for here answered (a request is answered once, connected or not: the check then says so)."""
    if plan.requested_at is not None and (
        answered_request is None or plan.requested_at > answered_request
    ):
        return True
    if plan.preflight_from is None or not connected:
        return False
    if last is None or last.at < plan.preflight_from:
        return True
    return not last.passed and now - last.at >= RETRY_FAILED


def media_faults(result: dict[str, Any] | None) -> list[str]:
    """What a media check's figures say failed (None: no check was possible)."""
    if result is None:
        return []
    if "error" in result:
        return [f"media check failed ({result['error']})"]
    if not result.get("frames_per_second"):
        return ["media check: no video"]
    return []


async def check(
    answers: Callable[[], Awaitable[bool]],
    media: Callable[[], Awaitable[dict[str, Any] | None]],
    report: Callable[[], Report | None],
) -> list[str]:
    """Run the parts in order; what failed, in words (empty: passed). No media check without a
    data channel: the agent is not there to answer it."""
    if not await answers():
        return [NO_DATA_CHANNEL]
    failed = media_faults(await media())
    return failed + media_problems(report())
