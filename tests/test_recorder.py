"""The recorder: batched writes of what the engine saw, incidents with their worst figures, and
retention of raw samples."""

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update

from models.base import utcnow
from models.db import SessionMaker
from models.history import Sample, StatusChange
from models.incident import Incident, IncidentKind
from models.site import Site, SiteStatus
from monitor.probe.events import EventBus, IncidentChanged, SampleTaken, StatusChanged
from monitor.probe.quality import figures
from monitor.probe.recorder import Recorder, prune_samples
from tests.probing import eventually


async def _site_id(sessionmaker: SessionMaker, code: str) -> int:
    async with sessionmaker() as session:
        site_id = await session.scalar(select(Site.id).where(Site.code == code))
    assert site_id is not None
    return site_id


async def test_an_episode_becomes_one_incident_with_its_worst_figures(seeded: SessionMaker) -> None:
    site_id = await _site_id(seeded, "040")
    bus = EventBus()
    notices = bus.subscribe("test")
    recorder = Recorder(seeded, bus, flush_seconds=0.05)
    task = asyncio.create_task(recorder.run())
    t0 = utcnow()

    def change(old: SiteStatus, new: SiteStatus, seconds: float) -> StatusChanged:
        return StatusChanged(site_id, "040", old, new, "test", t0 + timedelta(seconds=seconds))

    def sample(rtts: list[float], lost: int, seconds: float) -> SampleTaken:
        return SampleTaken(
            site_id, "040", t0 + timedelta(seconds=seconds), bool(rtts), figures(rtts, lost)
        )

    try:
        for event in (
            change(SiteStatus.UNKNOWN, SiteStatus.UP, 0),
            change(SiteStatus.UP, SiteStatus.DEGRADED, 10),
            sample([0.40, 0.42], 1, 10),
            sample([0.90, 0.95], 2, 20),
            change(SiteStatus.DEGRADED, SiteStatus.DOWN, 25),
            sample([], 5, 30),
            change(SiteStatus.DOWN, SiteStatus.UP, 40),
        ):
            bus.publish(event)

        async def written() -> bool:
            return recorder.written == 7

        await eventually(written, "the recorder wrote everything")
    finally:
        recorder.stop()
        await asyncio.wait_for(task, 30)
    async with seeded() as session:
        incidents = list(await session.scalars(select(Incident)))
        changes = await session.scalar(select(func.count()).select_from(StatusChange))
        site = await session.get(Site, site_id)
    assert len(incidents) == 1 and changes == 4
    incident = incidents[0]
    assert incident.severity is SiteStatus.DOWN  # a degraded episode that went down
    assert incident.opened_at == t0 + timedelta(seconds=10)
    assert incident.closed_at == t0 + timedelta(seconds=40)
    assert incident.worst_rtt_seconds == 0.925 and incident.worst_loss_ratio == 1.0
    assert site is not None and site.status is SiteStatus.UP and site.latest is not None
    told = []
    while (notice := notices.get_nowait()) is not None:
        if isinstance(notice, IncidentChanged):
            told.append((notice.incident_id, notice.state))
    # Opened and closed within one batch: subscribers hear of it once, in its final state.
    assert told == [(incident.id, "closed")]


async def test_old_samples_are_pruned(seeded: SessionMaker) -> None:
    site_id = await _site_id(seeded, "040")
    now = utcnow()
    async with seeded() as session:
        for age in (200, 100, 1):
            session.add(Sample(site_id=site_id, at=now - timedelta(days=age), reachable=True))
        await session.commit()
    assert await prune_samples(seeded, now - timedelta(days=90)) == 2
    async with seeded() as session:
        assert await session.scalar(select(func.count()).select_from(Sample)) == 1


async def test_stopping_writes_every_queued_event_exactly_once(seeded: SessionMaker) -> None:
    # Stopped while it writes without pause: nothing may be lost or written twice.
    async with seeded() as session:
        sites = list((await session.execute(select(Site.id, Site.code))).all())
    bus = EventBus()
    recorder = Recorder(seeded, bus, flush_seconds=0.01)
    task = asyncio.create_task(recorder.run())
    published = 0
    for _ in range(60):
        for site_id, code in sites:
            bus.publish(SampleTaken(site_id, code, utcnow(), True, figures([0.01], 0)))
            published += 1
        await asyncio.sleep(0.01)
    recorder.stop()
    await asyncio.wait_for(task, 60)
    async with seeded() as session:
        stored = await session.scalar(select(func.count()).select_from(Sample))
    assert stored == published


async def test_a_districts_own_episode_leaves_the_group_incident_it_holds_alone(
    seeded: SessionMaker,
) -> None:
    """040 holds a group incident for its communes; its own agent falling and coming back is
    an episode of its own, and the group stays open as it was."""
    site_id = await _site_id(seeded, "040")
    t0 = utcnow()
    async with seeded() as session:
        group = Incident(
            site_id=site_id,
            kind=IncidentKind.GROUP,
            severity=SiteStatus.DOWN,
            opened_at=t0 - timedelta(minutes=1),
            cause="district link: 9 of 11 communes down",
        )
        session.add(group)
        await session.commit()
    bus = EventBus()
    recorder = Recorder(seeded, bus, flush_seconds=0.05)
    task = asyncio.create_task(recorder.run())
    try:
        for old, new, seconds in [
            (SiteStatus.UP, SiteStatus.DOWN, 0),
            (SiteStatus.DOWN, SiteStatus.UP, 10),
        ]:
            at = t0 + timedelta(seconds=seconds)
            bus.publish(StatusChanged(site_id, "040", old, new, "test", at))

        async def written() -> bool:
            return recorder.written == 2

        await eventually(written, "the recorder wrote both changes")
    finally:
        recorder.stop()
        await asyncio.wait_for(task, 30)
    async with seeded() as session:
        rows = {i.kind: i for i in await session.scalars(select(Incident))}
    assert rows[IncidentKind.GROUP].closed_at is None
    assert rows[IncidentKind.GROUP].opened_at == t0 - timedelta(minutes=1)
    assert rows[IncidentKind.SITE].closed_at == t0 + timedelta(seconds=10)


async def test_written_through_says_what_is_stored_not_what_is_queued(
    seeded: SessionMaker,
) -> None:
    """The engine corrects a stored status that differs from its monitor's only if the change
    was published before `written_through`: a change still queued (a database busy at 3,321
    sites) is not a drift, and re-sending it would only queue more."""
    site_id = await _site_id(seeded, "040")
    bus = EventBus()
    recorder = Recorder(seeded, bus, flush_seconds=0.05)
    assert recorder.written_through is None
    task = asyncio.create_task(recorder.run())
    holder = seeded()
    try:
        await eventually(
            lambda: _true(recorder.written_through is not None), "the recorder caught up"
        )
        # Another writer holds the site's row: the recorder's write of the change must wait.
        await holder.execute(update(Site).where(Site.id == site_id).values(status_reason="held"))
        changed = StatusChanged(site_id, "040", SiteStatus.UNKNOWN, SiteStatus.UP, "test", utcnow())
        bus.publish(changed)
        await asyncio.sleep(1.0)
        through = recorder.written_through
        assert through is not None and through <= changed.at  # queued, not stored
        await holder.rollback()
        await eventually(
            lambda: _true((recorder.written_through or changed.at) > changed.at),
            "the change is stored",
        )
    finally:
        await holder.close()
        recorder.stop()
        await asyncio.wait_for(task, 30)
    async with seeded() as session:
        site = await session.get(Site, site_id)
    assert site is not None and site.status is SiteStatus.UP


async def _true(value: bool) -> bool:
    return value
