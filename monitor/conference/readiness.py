"""Pre-flight readiness: is each participating site ready for the conference?

A site is *ready* when it has been `up` for the last few minutes (default 5): connected, its
heartbeats answered, its link within limits, and, where its agent watches them, its camera and
microphone giving picture and sound (a fault there makes it `degraded`, with the reason); and it
passed a full check since pre-flight opened (`monitor.probe.full_check`: the engine runs one
without anyone asking, or an operator asks for one). Any other state is *not ready*, with the
reason in words and since when it has been so.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.conference import Conference
from models.site import Site, SiteStatus
from monitor.conference.participants import participants
from monitor.conference.phases import schedule_of

READY_AFTER = timedelta(minutes=5)
NEVER_CONNECTED = "never connected"
NO_FULL_CHECK = "no full check yet"


@dataclass(frozen=True)
class FullCheck:
    at: datetime
    passed: bool
    failed: str  # what failed, in words


@dataclass(frozen=True)
class SiteState:
    status: SiteStatus
    since: datetime
    reason: str
    last_seen_at: datetime | None
    enabled: bool
    full_check: FullCheck | None = None  # its last one


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reason: str  # why not, or "up for N min"
    since: datetime  # since when the verdict holds


def judge(
    state: SiteState, now: datetime, checks_from: datetime, ready_after: timedelta = READY_AFTER
) -> Verdict:
    """`checks_from`: when pre-flight opened; only a full check since then counts."""
    if not state.enabled or state.status is SiteStatus.PAUSED:
        return Verdict(False, state.reason or "disabled (maintenance)", state.since)
    if state.status is SiteStatus.MAINTENANCE:  # its reason says so: "maintenance: <note>"
        return Verdict(False, state.reason or SiteStatus.MAINTENANCE.value, state.since)
    if state.status is not SiteStatus.UP:
        never = state.last_seen_at is None and state.status is not SiteStatus.DEGRADED
        reason = NEVER_CONNECTED if never else state.reason or state.status.value
        return Verdict(False, f"{state.status.value}: {reason}", state.since)
    check = state.full_check
    if check is not None and check.at < checks_from:
        check = None  # before this conference's pre-flight: it says nothing of today
    if check is not None and not check.passed:
        return Verdict(False, f"full check failed: {check.failed}", check.at)
    ready_at = state.since + ready_after
    if not ready_since(state.status, state.since, now, ready_after):
        minutes = int((now - state.since).total_seconds() // 60)
        needed = int(ready_after.total_seconds() // 60)
        return Verdict(False, f"up for {minutes} of {needed} min", state.since)
    if check is None:
        return Verdict(False, NO_FULL_CHECK, min(now, max(ready_at, checks_from)))
    return Verdict(True, "up", max(ready_at, check.at))


def ready_since(status: SiteStatus, since: datetime, at: datetime, ready_after: timedelta) -> bool:
    """Whether a site `status` since `since` had been up long enough at `at`."""
    return status is SiteStatus.UP and at - since >= ready_after


@dataclass(frozen=True)
class SiteReadiness:
    code: str
    name: str
    district_code: str | None
    district_name: str | None
    contact_name: str | None
    contact_phone: str | None
    expected_delegates: int
    status: SiteStatus
    verdict: Verdict
    full_check: FullCheck | None


def not_ready_first(sites: Sequence[SiteReadiness]) -> list[SiteReadiness]:
    """Not ready first, the longest so first among them: the board's order."""
    return sorted(sites, key=lambda s: (s.verdict.ready, s.verdict.since, s.code))


def state_of(site: Site) -> SiteState:
    check = None
    if site.full_check_at is not None:
        check = FullCheck(site.full_check_at, bool(site.full_check_passed), site.full_check_failed)
    return SiteState(
        site.status, site.status_since, site.status_reason, site.last_seen_at, site.enabled, check
    )


async def readiness(
    session: AsyncSession,
    conference: Conference,
    now: datetime,
    ready_after: timedelta = READY_AFTER,
) -> list[SiteReadiness]:
    checks_from = schedule_of(conference).preflight_from
    found = []
    for p in await participants(session, conference.id):
        site = p.site
        state = state_of(site)
        found.append(
            SiteReadiness(
                code=site.code,
                name=site.name,
                district_code=p.district_code,
                district_name=p.district_name,
                contact_name=site.contact_name,
                contact_phone=site.contact_phone,
                expected_delegates=p.expected,
                status=site.status,
                verdict=judge(state, now, checks_from, ready_after),
                full_check=state.full_check,
            )
        )
    return not_ready_first(found)
