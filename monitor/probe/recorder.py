"""The recorder: writes what the engine observes to the database, in batches.

One transaction per batch, at least once per `recorder_flush_seconds`: samples, status changes,
each site's current status and latest figures, the outcome of its last full check, the delegates
present when an agent reports a new number, and incidents (one per down/degraded episode,
opened, escalated, given its worst figures, closed). Then, in a transaction of its own, the
grouping of the incidents it changed (monitor/probe/group_store.py). It publishes
`IncidentChanged` after both, so a subscriber reading a child incident finds it grouped.
"""

import asyncio
import contextlib
import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.attendance import Attendance
from models.base import utcnow
from models.db import SessionMaker
from models.history import FullCheckResult, Sample, StatusChange
from models.incident import Incident, IncidentKind
from models.notification import ChangeKind
from models.site import Site
from monitor.notify import outbox
from monitor.probe import incidents, rollups
from monitor.probe.attendance import AttendanceLog
from monitor.probe.events import (
    AttendanceChanged,
    Event,
    EventBus,
    FullChecked,
    IncidentChanged,
    Resync,
    SampleTaken,
    StatusChanged,
)
from monitor.probe.group_store import GroupStore

log = logging.getLogger(__name__)

MAX_BATCH = 5000
RETRY_SECONDS = 2.0


def _sample_row(event: SampleTaken) -> dict[str, Any]:
    figures = event.figures
    report = event.report or {}
    return {
        "site_id": event.site_id,
        "at": event.at,
        "reachable": event.reachable,
        "setup_seconds": event.setup_seconds,
        "rtt_median_seconds": figures.rtt_median_seconds,
        "rtt_p95_seconds": figures.rtt_p95_seconds,
        "jitter_seconds": figures.jitter_seconds,
        "loss_ratio": figures.loss_ratio,
        "mos": figures.mos,
        "attendance": report.get("attendance"),
        "error_class": event.error_class,
        "report": event.report,
        "media": event.media,
        "local_candidate_type": event.local_candidate_type,
        "remote_candidate_type": event.remote_candidate_type,
    }


def latest_figures(event: SampleTaken) -> dict[str, Any]:
    """What a site shows as its latest figures (JSON-safe)."""
    row = _sample_row(event)
    row["at"] = event.at.isoformat()
    row.pop("site_id")
    row["heartbeats_sent"] = asdict(event.figures)["sent"]
    return row


SiteEvent = TypeVar("SiteEvent", SampleTaken, StatusChanged, FullChecked)


def _by_site(events: list[SiteEvent]) -> list[SiteEvent]:
    """In site order, each site's in the order they came: two workers that both write sites
    (one handing them over, one taking them) then lock rows in the same order and cannot
    deadlock (a 3,321-site run lost a batch to one, which was then written again)."""
    return sorted(events, key=lambda event: event.site_id)


def _check_rows(checks: list[FullChecked]) -> list[dict[str, Any]]:
    """Each site's last full check of the batch, as its row keeps it."""
    newest = {check.site_id: check for check in checks}
    return [
        {
            "id": c.site_id,
            "full_check_at": c.at,
            "full_check_passed": c.passed,
            "full_check_failed": c.failed[:200],
        }
        for c in _by_site(list(newest.values()))
    ]


class Recorder:
    def __init__(
        self,
        sessionmaker: SessionMaker,
        bus: EventBus,
        flush_seconds: float,
        grouping: GroupStore | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._flush_seconds = flush_seconds
        self._grouping = grouping
        # Sites whose grouping failed to be judged (a busy database): judged with the next batch.
        self._ungrouped: set[int] = set()
        self._subscription = bus.subscribe("recorder", maxsize=200_000, unwritten_only=True)
        self._stopping = asyncio.Event()
        self._attendance = AttendanceLog()
        self.written = 0
        # Everything published before this moment is in the database (None: not known yet).
        self.written_through: datetime | None = None

    @property
    def backlog(self) -> int:
        return self._subscription.queue.qsize()

    def stop(self) -> None:
        """Write what is queued, then let `run` return.

        Not `cancel()`: a cancelled write may still commit in the database driver's thread, and
        the batch would be lost or written twice.
        """
        self._stopping.set()

    async def run(self) -> None:
        pending: list[Event] = []
        try:
            while not self._stopping.is_set():
                await self._pause(self._flush_seconds)  # let the batch gather
                drained_at = utcnow()
                pending.extend(self._subscription.drain(MAX_BATCH))
                caught_up = self._subscription.queue.empty()
                if not pending or await self._written(pending):
                    pending = []
                    if caught_up:
                        self.written_through = drained_at
                else:  # keep the batch: a busy database must not lose history
                    await self._pause(RETRY_SECONDS)
            # Stopping: write what was queued by now, once; what the sites observe from here on
            # (they may still be running) is not waited for.
            self._bus.unsubscribe(self._subscription)
            while batch := pending + self._subscription.drain(MAX_BATCH):
                pending = []
                if not await self._written(batch):
                    log.error("recorder stopped; events unwritten", extra={"events": len(batch)})
                    return
        finally:
            self._bus.unsubscribe(self._subscription)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _written(self, events: list[Event]) -> bool:
        try:
            await self._write(events)
        except Exception:
            log.exception("recorder write failed", extra={"events": len(events)})
            return False
        return True

    async def _write(self, events: list[Event]) -> None:
        samples = [e for e in events if isinstance(e, SampleTaken)]
        changes = [e for e in events if isinstance(e, StatusChanged)]
        lost = sum(e.dropped for e in events if isinstance(e, Resync))
        if lost:
            log.error("recorder fell behind; events lost", extra={"lost": lost})
        probed = [e for e in events if isinstance(e, SampleTaken | StatusChanged)]
        async with self._sessionmaker() as session, session.begin():
            # Every read before the first write: on SQLite the writer lock is held from the
            # first write to the commit, and each statement waits for this event loop's turn.
            present = await self._attendance.new_rows(session, samples)
            sample_rows = [_sample_row(e) for e in samples]
            saved = await _open_incidents(session, {e.site_id for e in probed})
            if samples:
                await session.execute(insert(Sample), sample_rows)
                # One statement, the database's own work: no read for the lock to wait on.
                await rollups.refresh(session, [(row["site_id"], row["at"]) for row in sample_rows])
                await session.execute(update(Site), self._latest(samples))
            if present:
                await session.execute(insert(Attendance), present)
            if changes:
                await session.execute(
                    insert(StatusChange),
                    [
                        {
                            "site_id": c.site_id,
                            "at": c.at,
                            "old_status": c.old,
                            "new_status": c.new,
                            "reason": c.reason[:200],
                        }
                        for c in changes
                    ],
                )
                await session.execute(
                    update(Site),
                    [
                        {
                            "id": c.site_id,
                            "status": c.new,
                            "status_since": c.at,
                            "status_reason": c.reason[:200],
                        }
                        for c in _by_site(changes)
                    ],
                )
            if checks := [e for e in events if isinstance(e, FullChecked)]:
                await session.execute(update(Site), _check_rows(checks))
                await session.execute(
                    insert(FullCheckResult),
                    [
                        {
                            "site_id": c.site_id,
                            "at": c.at,
                            "passed": c.passed,
                            "failed": c.failed[:200],
                        }
                        for c in checks
                    ],
                )
            notices = await self._incidents(session, saved, probed)
        self._attendance.written(present)
        self.written += len(samples) + len(changes)
        # Status changes open, escalate and close incidents: what grouping is judged on.
        notices += await self._regroup({change.site_id for change in changes})
        for notice in notices:
            self._bus.publish(notice)
        codes = {sample.site_id: sample.site_code for sample in samples}
        for row in present:  # after the commit, as notices: live views count them at once
            self._bus.publish(
                AttendanceChanged(
                    row["site_id"],
                    codes[row["site_id"]],
                    row["present"],
                    row["source"].value,
                    row["by"],
                    row["at"],
                )
            )

    async def _regroup(self, site_ids: set[int]) -> list[IncidentChanged]:
        """Group what the batch changed; a failure is logged, not a reason to write it again."""
        if self._grouping is None:
            return []
        self._ungrouped |= site_ids
        try:
            notices = await self._grouping.regroup(self._ungrouped, utcnow())
        except Exception:
            log.exception("grouping failed", extra={"sites": len(self._ungrouped)})
            return []
        self._ungrouped = set()
        return notices

    @staticmethod
    def _latest(samples: list[SampleTaken]) -> list[dict[str, Any]]:
        newest: dict[int, SampleTaken] = {}
        for sample in samples:
            newest[sample.site_id] = sample
        return [
            {"id": s.site_id, "latest": latest_figures(s), "last_seen_at": s.last_seen_at}
            for s in _by_site(list(newest.values()))
        ]

    async def _incidents(
        self,
        session: AsyncSession,
        saved: dict[int, Incident],
        events: list[SampleTaken | StatusChanged],
    ) -> list[IncidentChanged]:
        """Save what the incident rules make of the batch's events, given the open incidents of
        their sites; what to announce."""
        if not events:
            return []
        codes = {event.site_id: event.site_code for event in events}
        episodes = {
            site_id: _episode(incident, codes[site_id]) for site_id, incident in saved.items()
        }
        touched = incidents.follow(episodes, events)
        written = [(_save(session, saved, episode), episode) for episode in touched]
        await session.flush()
        for incident, episode in written:  # notifications: in this transaction (the outbox)
            if episode.notice in CHANGE_KINDS:
                outbox.record(session, incident, CHANGE_KINDS[episode.notice], _when(episode))
        return [
            IncidentChanged(incident.id, episode.site_code, episode.notice)
            for incident, episode in written
            if episode.notice is not None
        ]


async def _open_incidents(session: AsyncSession, site_ids: set[int]) -> dict[int, Incident]:
    """The sites' open incidents of their own, by site id."""
    if not site_ids:
        return {}
    rows = await session.scalars(
        select(Incident).where(
            Incident.closed_at.is_(None),
            Incident.site_id.in_(site_ids),
            # A district's own episode, not the group incident it may hold for its communes.
            Incident.kind == IncidentKind.SITE,
        )
    )
    return {incident.site_id: incident for incident in rows}


CHANGE_KINDS = {
    incidents.Notice.OPENED: ChangeKind.OPENED,
    incidents.Notice.UPDATED: ChangeKind.ESCALATED,
    incidents.Notice.CLOSED: ChangeKind.RESOLVED,
}


def _when(episode: incidents.Episode) -> datetime:
    if episode.closed_at is not None:
        return episode.closed_at
    return episode.opened_at if episode.notice is incidents.Notice.OPENED else utcnow()


def _episode(incident: Incident, site_code: str) -> incidents.Episode:
    return incidents.Episode(
        site_id=incident.site_id,
        site_code=site_code,
        severity=incident.severity,
        opened_at=incident.opened_at,
        worst_rtt_seconds=incident.worst_rtt_seconds,
        worst_jitter_seconds=incident.worst_jitter_seconds,
        worst_loss_ratio=incident.worst_loss_ratio,
        worst_mos=incident.worst_mos,
        incident_id=incident.id,
    )


def _save(
    session: AsyncSession, saved: dict[int, Incident], episode: incidents.Episode
) -> Incident:
    """The episode's row, created or brought up to date (not yet flushed)."""
    if episode.incident_id is not None:  # loaded from `saved`
        incident = saved[episode.site_id]
    else:
        incident = Incident(site_id=episode.site_id)
        session.add(incident)
    incident.severity = episode.severity
    incident.opened_at = episode.opened_at
    incident.closed_at = episode.closed_at
    incident.worst_rtt_seconds = episode.worst_rtt_seconds
    incident.worst_jitter_seconds = episode.worst_jitter_seconds
    incident.worst_loss_ratio = episode.worst_loss_ratio
    incident.worst_mos = episode.worst_mos
    return incident


async def prune_samples(sessionmaker: SessionMaker, before: datetime) -> int:
    """Delete raw samples older than `before`; incidents and status changes are kept."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(delete(Sample).where(Sample.at < before))
    return int(getattr(result, "rowcount", 0) or 0)
