"""The store step of grouping: after each recorder batch, the parents of the sites whose
incidents changed are judged again (monitor/probe/grouping.py) from what the database holds.

From the database, not from this worker's memory: in scale-out, the communes of one district may
be held by several workers, and each sees the others' incidents only there. Each parent's row is
locked while its family is judged, so two workers never decide for one parent at once; the
unique index on open group incidents is the backstop (a second one fails the step, which is
judged again with the next batch).
"""

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.db import SessionMaker
from models.incident import Incident, IncidentKind
from models.site import Site, SiteStatus, probed
from monitor.probe import grouping
from monitor.probe.events import IncidentChanged
from monitor.probe.incidents import Notice

log = logging.getLogger(__name__)


class GroupStore:
    def __init__(self, sessionmaker: SessionMaker, rule: grouping.Rule) -> None:
        self._sessionmaker = sessionmaker
        self._rule = rule

    async def regroup(self, site_ids: Iterable[int], now: datetime) -> list[IncidentChanged]:
        """Judge the parents of `site_ids` again, and let go of the stragglers of groups closed a
        while ago (whether or not anything changed); what to announce once committed."""
        async with self._sessionmaker() as session, session.begin():
            parents = await session.scalars(
                select(Site.parent_id)
                .where(Site.id.in_(set(site_ids)), Site.parent_id.is_not(None))
                .distinct()
            )
            notices: list[IncidentChanged] = []
            for parent_id in sorted(p for p in parents if p is not None):  # one lock order
                notices += await _regroup_family(session, parent_id, self._rule, now)
            notices += await _let_stragglers_go(session, grouping.stragglers_after(self._rule, now))
        return notices


async def _regroup_family(
    session: AsyncSession, parent_id: int, rule: grouping.Rule, now: datetime
) -> list[IncidentChanged]:
    parent = await session.scalar(select(Site).where(Site.id == parent_id).with_for_update())
    if parent is None:
        return []
    family, codes = await _family(session, parent)
    decision = grouping.decide(family, rule, now)
    if decision is None:
        return []
    group_id = await _open_or_update(session, parent, family, decision)
    await _attach(session, decision.attach, group_id)
    state = _group_notice(decision)
    notices = [IncidentChanged(group_id, parent.code, state)] if state else []
    for incident_id in decision.attach:
        notices.append(IncidentChanged(incident_id, codes[incident_id], Notice.GROUPED))
    return notices


async def _let_stragglers_go(
    session: AsyncSession, closed_before: datetime
) -> list[IncidentChanged]:
    """Children still down under a group closed before `closed_before` stand on their own."""
    group = aliased(Incident)
    rows = (
        await session.execute(
            select(Incident.id, Site.code)
            .join(group, Incident.parent_incident_id == group.id)
            .join(Site, Incident.site_id == Site.id)
            .where(Incident.closed_at.is_(None), group.closed_at < closed_before)
        )
    ).all()
    await _attach(session, [incident_id for incident_id, _ in rows], None)
    return [IncidentChanged(incident_id, code, Notice.GROUPED) for incident_id, code in rows]


async def _family(session: AsyncSession, parent: Site) -> tuple[grouping.Family, dict[int, str]]:
    """The parent's family as the rules see it, and the site code of each child incident."""
    children = Counter(
        await session.scalars(select(Site.level).where(Site.parent_id == parent.id, probed()))
    )
    rows = await session.execute(
        select(Incident.id, Incident.opened_at, Incident.parent_incident_id, Site.code)
        .join(Site, Incident.site_id == Site.id)
        .where(
            Site.parent_id == parent.id,
            probed(),
            Incident.kind == IncidentKind.SITE,
            Incident.severity == SiteStatus.DOWN,
            Incident.closed_at.is_(None),
        )
    )
    down, codes = [], {}
    for incident_id, opened_at, group_id, code in rows:
        down.append(grouping.Down(incident_id, opened_at, group_id))
        codes[incident_id] = code
    group = await session.scalar(
        select(Incident).where(
            Incident.site_id == parent.id,
            Incident.kind == IncidentKind.GROUP,
            Incident.closed_at.is_(None),
        )
    )
    attached = 0
    if group is not None:
        attached = (
            await session.scalar(
                select(func.count()).where(Incident.parent_incident_id == group.id)
            )
            or 0
        )
    family = grouping.Family(
        parent_site_id=parent.id,
        parent_level=parent.level,
        child_level=children.most_common(1)[0][0] if children else parent.level,
        children=children.total(),
        down=down,
        group=grouping.OpenGroup(group.id, group.opened_at) if group else None,
        ever_attached=attached,
    )
    return family, codes


async def _open_or_update(
    session: AsyncSession, parent: Site, family: grouping.Family, decision: grouping.Decision
) -> int:
    """The group incident's id, opened, brought up to date or closed as decided."""
    if decision.open_at is None:
        assert family.group is not None  # the rules only follow an open group
        values: dict[str, object] = {}
        if decision.cause is not None:
            values["cause"] = decision.cause
        if decision.close_at is not None:
            values["closed_at"] = decision.close_at
        if values:
            await session.execute(
                update(Incident).where(Incident.id == family.group.incident_id).values(values)
            )
        return family.group.incident_id
    group = Incident(
        site_id=parent.id,
        kind=IncidentKind.GROUP,
        severity=SiteStatus.DOWN,
        opened_at=decision.open_at,
        cause=decision.cause,
    )
    session.add(group)
    await session.flush()
    log.warning("group incident opened", extra={"site": parent.code, "cause": decision.cause})
    return group.id


async def _attach(session: AsyncSession, incident_ids: list[int], group_id: int | None) -> None:
    if incident_ids:
        await session.execute(
            update(Incident)
            .where(Incident.id.in_(incident_ids))
            .values(parent_incident_id=group_id)
        )


def _group_notice(decision: grouping.Decision) -> Notice | None:
    if decision.open_at is not None:
        return Notice.OPENED
    if decision.close_at is not None:
        return Notice.CLOSED
    return Notice.UPDATED if decision.cause is not None else None
