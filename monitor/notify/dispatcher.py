"""The dispatcher: once the oldest waiting change is a digest window old, it makes every waiting
change into one message per rule that concerns them, in one transaction (so a change is made into
messages exactly once); it also queues the reminders of incidents still down and not taken.

On PostgreSQL several processes run one; a transaction-level advisory lock lets one dispatch at
a time, so a window is never split into two digests."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.conference import ConferenceSite
from models.db import SessionMaker
from models.incident import Incident
from models.notification import (
    ChangeKind,
    MessageState,
    NotificationChannel,
    NotificationEvent,
    NotificationMessage,
    NotificationReminder,
    NotificationRule,
)
from models.settings import Settings
from models.site import Site
from monitor.notify.digest import Change, Place, compose
from monitor.notify.rules import Rule, concerns
from monitor.notify.trouble import RoundTrouble

log = logging.getLogger(__name__)

MAX_EVENTS = 20_000  # per dispatch; more wait for the next one
LOCK_KEY = 0x62776E74  # "bwnt": one dispatcher at a time across processes
POLL_SECONDS = 1.0
KEEP_EVENTS = timedelta(days=7)


def site_link(base: str) -> Callable[[str], str]:
    return lambda code: f"{base}/?site={code}"


class Dispatcher:
    def __init__(self, sessionmaker: SessionMaker, settings: Settings) -> None:
        self._sessionmaker = sessionmaker
        self._window = timedelta(seconds=settings.notify_digest_seconds)
        self._link = site_link(settings.resolved_dashboard_url)
        self._zone = ZoneInfo(settings.notify_time_zone)
        self._keep_messages = timedelta(days=settings.notify_retention_days)
        self._stopping = asyncio.Event()
        self._trouble = RoundTrouble(log, "notification dispatch")

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.dispatch(utcnow())
            except Exception as exc:  # tried again at the next tick
                self._trouble.failed(exc)
            else:
                self._trouble.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), POLL_SECONDS)

    async def dispatch(self, now: datetime) -> int:
        """Queue due reminders; make the waiting changes into messages if their window is over.
        Returns how many messages were made."""
        async with self._sessionmaker() as session, session.begin():
            if not await _lock(session):
                return 0
            await _remind(session, now)
            oldest = await session.scalar(
                select(func.min(NotificationEvent.created_at)).where(
                    NotificationEvent.dispatched_at.is_(None)
                )
            )
            if oldest is None or oldest > now - self._window:
                return 0
            events = list(
                await session.scalars(
                    select(NotificationEvent)
                    .where(NotificationEvent.dispatched_at.is_(None))
                    .order_by(NotificationEvent.id)
                    .limit(MAX_EVENTS)
                )
            )
            made = await self._messages(session, events, now)
            for event in events:
                event.dispatched_at = now
            await _forget(session, now, self._keep_messages)
        if made:
            log.info("notifications queued", extra={"changes": len(events), "messages": made})
        return made

    async def _messages(
        self, session: AsyncSession, events: list[NotificationEvent], now: datetime
    ) -> int:
        changes = await _changes(session, events)
        rules = await _rules(session)
        parents = await _parents(session) if any(r.subtree_of for r, _ in rules) else {}
        made = 0
        for rule, row in rules:
            matched = [change for change in changes if concerns(rule, change, parents)]
            if not matched:
                continue
            digest = compose(matched, row.language, self._link, self._zone)
            session.add(
                NotificationMessage(
                    delivery_id=f"msg_{uuid.uuid4().hex}",
                    channel_id=row.channel_id,
                    rule_id=row.id,
                    subject=digest.subject[:300],
                    text=digest.text,
                    payload=digest.payload,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            made += 1
        return made


async def _lock(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: one process
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(LOCK_KEY))))


async def _rules(session: AsyncSession) -> list[tuple[Rule, NotificationRule]]:
    rows = list(
        await session.scalars(
            select(NotificationRule)
            .join(NotificationChannel, NotificationChannel.id == NotificationRule.channel_id)
            .where(NotificationRule.enabled.is_(True), NotificationChannel.enabled.is_(True))
            .order_by(NotificationRule.id)
        )
    )
    conferences = {row.conference_id for row in rows if row.conference_id is not None}
    members: dict[int, set[int]] = {conference: set() for conference in conferences}
    if conferences:
        pairs = await session.execute(
            select(ConferenceSite.conference_id, ConferenceSite.site_id).where(
                ConferenceSite.conference_id.in_(conferences)
            )
        )
        for conference_id, site_id in pairs:
            members[conference_id].add(site_id)
    return [
        (
            Rule(
                rule_id=row.id,
                statuses=frozenset(row.statuses),
                subtree_of=row.site_id,
                conference_sites=(
                    frozenset(members[row.conference_id]) if row.conference_id is not None else None
                ),
                notify_resolved=row.notify_resolved,
            ),
            row,
        )
        for row in rows
    ]


async def _parents(session: AsyncSession) -> dict[int, int | None]:
    return {
        site_id: parent
        for site_id, parent in await session.execute(select(Site.id, Site.parent_id))
    }


async def _changes(session: AsyncSession, events: list[NotificationEvent]) -> list[Change]:
    incidents = {
        incident.id: incident
        for incident in await session.scalars(
            select(Incident).where(Incident.id.in_({e.incident_id for e in events}))
        )
    }
    places = await _places(session, {event.site_id for event in events})
    return [
        Change(
            incident_id=event.incident_id,
            kind=event.kind,
            severity=event.severity,
            at=event.at,
            opened_at=incidents[event.incident_id].opened_at,
            site=places[event.site_id],
            rule_id=event.rule_id,
            parent_incident_id=incidents[event.incident_id].parent_incident_id,
            incident_kind=str(incidents[event.incident_id].kind),
            cause=incidents[event.incident_id].cause,
        )
        for event in events
        if event.incident_id in incidents and event.site_id in places
    ]


async def _places(session: AsyncSession, site_ids: set[int]) -> dict[int, Place]:
    sites = list(await session.scalars(select(Site).where(Site.id.in_(site_ids))))
    parent_ids = {site.parent_id for site in sites if site.parent_id is not None}
    names = dict(
        (await session.execute(select(Site.id, Site.name).where(Site.id.in_(parent_ids)))).all()
    )
    return {
        site.id: Place(
            site_id=site.id,
            code=site.code,
            name=site.name,
            parent_name=names.get(site.parent_id) if site.parent_id is not None else None,
            contact_name=site.contact_name,
            contact_phone=site.contact_phone,
        )
        for site in sites
    }


async def _remind(session: AsyncSession, now: datetime) -> None:
    """Queue a reminder for each rule with `remind_minutes` and each incident it may concern
    that is still open, not acknowledged, and was opened or last reminded of that long ago."""
    rules = await session.scalars(
        select(NotificationRule).where(
            NotificationRule.enabled.is_(True), NotificationRule.remind_minutes.is_not(None)
        )
    )
    for rule in rules:
        assert rule.remind_minutes is not None
        due = now - timedelta(minutes=rule.remind_minutes)
        rows = await session.execute(
            select(Incident, NotificationReminder)
            .outerjoin(
                NotificationReminder,
                and_(
                    NotificationReminder.incident_id == Incident.id,
                    NotificationReminder.rule_id == rule.id,
                ),
            )
            .where(
                Incident.closed_at.is_(None),
                Incident.acknowledged_at.is_(None),
                Incident.parent_incident_id.is_(None),  # its group's reminder speaks for it
                Incident.severity.in_(rule.statuses),
                Incident.opened_at <= due,
                or_(NotificationReminder.at.is_(None), NotificationReminder.at <= due),
            )
        )
        for incident, reminder in rows.all():
            if reminder is None:
                session.add(NotificationReminder(rule_id=rule.id, incident_id=incident.id, at=now))
            else:
                reminder.at = now
            session.add(
                NotificationEvent(
                    incident_id=incident.id,
                    site_id=incident.site_id,
                    kind=ChangeKind.REMINDER,
                    severity=str(incident.severity),
                    at=now,
                    rule_id=rule.id,
                    created_at=now,
                )
            )


async def _forget(session: AsyncSession, now: datetime, keep_messages: timedelta) -> None:
    """Changes made into messages a while ago are of no further use; messages delivered or
    given up are kept for the retention (what was told, and why one failed), pending ones until
    they are delivered or given up."""
    await session.execute(
        delete(NotificationEvent).where(NotificationEvent.dispatched_at < now - KEEP_EVENTS)
    )
    await session.execute(
        delete(NotificationMessage).where(
            NotificationMessage.state != MessageState.PENDING,
            NotificationMessage.created_at < now - keep_messages,
        )
    )
