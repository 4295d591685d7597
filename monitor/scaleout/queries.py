"""Scale-out's queries: which monitor worker probes which site.

Each worker keeps a `monitor_worker` row fresh and holds a `site_lease` per site it probes
(`models.lease`). A lease is claimed with `FOR UPDATE SKIP LOCKED` (two workers never claim the
same free site), renewed on every tick and expires by itself, so the sites of a worker that died
move to the others within the lease time. Every time is the database's clock: workers on
different hosts may disagree on theirs.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.history import StatusChange
from models.lease import MonitorWorker, SiteLease
from models.site import Site, SiteStatus, probed

WATCHED = (SiteStatus.UP, SiteStatus.DEGRADED, SiteStatus.DOWN)
# PostgreSQL notifies this channel at the commit of any edit that changes what the engines watch
# (triggers of migration 0004), whichever process or tool made it.
SITE_EDITS_CHANNEL = "bridgewatch_sites"
RELEASE_PER_TICK = 100
# A worker row not seen for this long is gone for good: its row is deleted.
FORGET_WORKER = timedelta(hours=1)


@dataclass(frozen=True)
class Holding:
    """The outcome of one tick: the sites this worker now holds, and how many workers share."""

    site_ids: frozenset[int]
    workers: int


def fair_share(sites: int, workers: int) -> int:
    """The sites each live worker holds at most: the probed sites divided by the live workers,
    rounded up (so the newest worker's is what the others leave)."""
    return math.ceil(sites / max(workers, 1))


async def tick(
    session: AsyncSession,
    worker: str,
    url: str | None,
    ttl: timedelta,
    release_at_most: int = RELEASE_PER_TICK,
) -> Holding:
    """Say this worker is alive, renew its leases and move it toward its fair share.

    The share is `fair_share` of the probed sites among the live workers. A worker above it
    releases its highest site ids (another worker claims them at its next tick); a worker below
    it claims free or expired leases. One transaction, so a failed tick changes nothing.
    Giving up is gradual (`release_at_most` per tick): a worker joining a busy fleet takes its
    share over several ticks, not as one burst of closes on one side and set-ups on the other.
    """
    now = func.now()
    await _seen(session, worker, url)
    await session.execute(delete(MonitorWorker).where(MonitorWorker.seen_at < now - FORGET_WORKER))
    workers = await session.scalar(
        select(func.count()).select_from(MonitorWorker).where(MonitorWorker.seen_at > now - ttl)
    )
    total = await session.scalar(select(func.count()).select_from(Site).where(probed()))
    share = fair_share(total or 0, workers or 1)
    # A site disabled or taken out of probing is let go before counting what is held.
    await session.execute(
        delete(SiteLease).where(
            SiteLease.worker_id == worker, SiteLease.site_id.not_in(select(Site.id).where(probed()))
        )
    )
    renewed = await session.scalars(
        update(SiteLease)
        .where(SiteLease.worker_id == worker, SiteLease.expires_at > now)
        .values(expires_at=now + ttl)
        .returning(SiteLease.site_id)
    )
    held = set(renewed)
    if len(held) > share:
        held -= await _release(session, worker, sorted(held)[share:][:release_at_most])
    elif len(held) < share:
        held |= await _claim(session, worker, share - len(held), ttl)
    await session.commit()
    return Holding(frozenset(held), workers or 1)


async def _seen(session: AsyncSession, worker: str, url: str | None) -> None:
    now = func.now()
    await session.execute(
        insert(MonitorWorker)
        .values(id=worker, url=url, started_at=now, seen_at=now)
        .on_conflict_do_update(index_elements=["id"], set_={"seen_at": now, "url": url})
    )


async def _claim(session: AsyncSession, worker: str, wanted: int, ttl: timedelta) -> set[int]:
    now = func.now()
    free = await session.scalars(
        select(Site.id)
        .outerjoin(SiteLease, SiteLease.site_id == Site.id)
        .where(probed(), or_(SiteLease.site_id.is_(None), SiteLease.expires_at < now))
        .order_by(Site.id)
        .limit(wanted)
        # Locks the site rows it returns and passes over those another worker is claiming.
        .with_for_update(of=Site, skip_locked=True)
    )
    ids = list(free)
    if not ids:
        return set()
    claimed = await session.scalars(
        insert(SiteLease)
        .values([{"site_id": i, "worker_id": worker, "expires_at": now + ttl} for i in ids])
        .on_conflict_do_update(
            index_elements=["site_id"],
            set_={"worker_id": worker, "expires_at": now + ttl},
            where=SiteLease.expires_at < now,
        )
        .returning(SiteLease.site_id)
    )
    return set(claimed)


async def _release(session: AsyncSession, worker: str, site_ids: list[int]) -> set[int]:
    # Expired now rather than deleted: the row tells since when nobody holds the site.
    released = await session.scalars(
        update(SiteLease)
        .where(SiteLease.worker_id == worker, SiteLease.site_id.in_(site_ids))
        .values(expires_at=func.now())
        .returning(SiteLease.site_id)
    )
    return set(released)


async def leave(session: AsyncSession, worker: str) -> None:
    """A worker that stops hands its sites over at once instead of letting the leases expire."""
    await session.execute(
        update(SiteLease)
        .where(SiteLease.worker_id == worker, SiteLease.expires_at > func.now())
        .values(expires_at=func.now())
    )
    await session.execute(delete(MonitorWorker).where(MonitorWorker.id == worker))
    await session.commit()


@dataclass(frozen=True)
class Unwatched:
    site_id: int
    code: str
    old: SiteStatus
    at: datetime  # the new status_since, on the database's clock


async def mark_unwatched(session: AsyncSession, grace: timedelta, reason: str) -> list[Unwatched]:
    """Sites that nobody has held for `grace` lose the status their last worker wrote: it is
    `unknown` now. Without this a dead fleet would leave its last `up`s on the screen."""
    now = func.now()
    unheld = (
        select(Site.id, Site.status)
        .outerjoin(SiteLease, SiteLease.site_id == Site.id)
        .where(
            probed(),
            Site.status.in_(WATCHED),
            or_(SiteLease.site_id.is_(None), SiteLease.expires_at < now - grace),
        )
        .with_for_update(of=Site, skip_locked=True)  # API processes sweeping at once
        .cte("unheld")
    )
    rows = (
        await session.execute(
            update(Site)
            .where(Site.id == unheld.c.id)
            .values(status=SiteStatus.UNKNOWN, status_since=now, status_reason=reason)
            .returning(Site.id, Site.code, unheld.c.status, Site.status_since)
        )
    ).all()
    session.add_all(
        StatusChange(
            site_id=site_id, at=at, old_status=old, new_status=SiteStatus.UNKNOWN, reason=reason
        )
        for site_id, _code, old, at in rows
    )
    await session.commit()
    return [Unwatched(site_id, code, SiteStatus(old), at) for site_id, code, old, at in rows]


async def owner_url(session: AsyncSession, site_id: int) -> tuple[str, str | None] | None:
    """The worker holding a live lease on the site, and its URL; None if nobody holds it."""
    row = (
        await session.execute(
            select(SiteLease.worker_id, MonitorWorker.url)
            .join(MonitorWorker, MonitorWorker.id == SiteLease.worker_id)
            .where(SiteLease.site_id == site_id, SiteLease.expires_at > func.now())
        )
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class WorkerHolding:
    worker: MonitorWorker
    sites: int  # live leases
    alive: bool  # seen within the lease time


async def worker_holdings(session: AsyncSession, ttl: timedelta) -> list[WorkerHolding]:
    """Every known worker, oldest first, with the sites it holds now."""
    held = (
        select(SiteLease.worker_id, func.count().label("sites"))
        .where(SiteLease.expires_at > func.now())
        .group_by(SiteLease.worker_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            MonitorWorker,
            func.coalesce(held.c.sites, 0),
            MonitorWorker.seen_at > func.now() - ttl,
        )
        .outerjoin(held, held.c.worker_id == MonitorWorker.id)
        .order_by(MonitorWorker.started_at, MonitorWorker.id)
    )
    return [WorkerHolding(worker, sites, bool(alive)) for worker, sites, alive in rows]
