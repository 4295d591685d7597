"""The store step of grouping: after each recorder batch, the parents of the sites whose
incidents changed are judged again (monitor/probe/grouping.py) from what the database holds.

From the database, not from this worker's memory: in scale-out, the communes of one district may
be held by several workers, and each sees the others' incidents only there. Each parent's row is
locked while its family is judged, so two workers never decide for one parent at once; the
unique index on open group incidents is the backstop (a second one fails the step, which is
judged again with the next batch).

With reference targets configured, a group about to open first asks whether the monitor can
see at all (monitor/probe/monitor_link.py): if no reference answers, the group waits, and a
monitor-link incident opens once the failure is widespread; while it is open, no group opens
and every site's incident is attached to it. The references are asked outside the transaction
(a step that finds it needs them is rolled back and taken again), so no row lock, nor SQLite's
writer lock, is held over their timeout.
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
from models.notification import ChangeKind
from models.site import Site, SiteStatus, probed
from monitor.notify import outbox
from monitor.probe import grouping, monitor_link
from monitor.probe.events import IncidentChanged
from monitor.probe.incidents import Notice
from monitor.probe.references import unreachable

log = logging.getLogger(__name__)


class GroupStore:
    def __init__(
        self, sessionmaker: SessionMaker, rule: grouping.Rule, references: list[str] | None = None
    ) -> None:
        self._sessionmaker = sessionmaker
        self._rule = rule
        self._references = references or []
        # Parents whose group waited for the monitor's link to be judged: judged again next time.
        self._held: set[int] = set()
        # The references last found unreachable: a change is logged, not every step's finding.
        self._unreachable: list[str] = []
        # Whether a monitor-link incident was open after the last step (the site metrics show
        # the sites down meanwhile as not observable).
        self.link_out = False

    async def regroup(self, site_ids: Iterable[int], now: datetime) -> list[IncidentChanged]:
        """Judge the parents of `site_ids` again (or the monitor's link, while it is out), and
        let go of the stragglers of groups closed a while ago (whether or not anything
        changed); what to announce once committed."""
        blind = _Blindness(self._references)
        if self._unreachable or self._held:  # a cut under way: every step asks the references
            await blind.ask()
        try:
            notices = await self._step(set(site_ids), blind, now)
        except _NotAskedError:
            # Never a network wait with rows locked (on SQLite, with the one writer's lock held):
            # the references are asked outside the transaction, and the step taken again.
            await blind.ask()
            notices = await self._step(set(site_ids), blind, now)
        self._log_references(blind)
        return notices

    async def _step(
        self, site_ids: set[int], blind: "_Blindness", now: datetime
    ) -> list[IncidentChanged]:
        blind.asked = False
        async with self._sessionmaker() as session, session.begin():
            link = await open_link_incident(session)
            if link is not None:
                notices = await _follow_link(session, link, blind, self._rule, now)
            else:
                notices = await self._regroup_families(session, site_ids, blind, now)
            notices += await _let_stragglers_go(session, grouping.stragglers_after(self._rule, now))
            await _queue_notifications(session, notices, now)
            link_out = await open_link_incident(session) is not None
        self.link_out = link_out
        return notices

    def _log_references(self, blind: "_Blindness") -> None:
        if blind.unreachable is None or blind.unreachable == self._unreachable:
            return
        if blind.unreachable:
            log.warning(
                "monitor link references unreachable", extra={"references": blind.unreachable}
            )
        else:
            log.info("monitor link references answer again", extra={"references": blind.references})
        self._unreachable = blind.unreachable

    async def _regroup_families(
        self, session: AsyncSession, site_ids: set[int], blind: "_Blindness", now: datetime
    ) -> list[IncidentChanged]:
        parents = set(
            await session.scalars(
                select(Site.parent_id).where(Site.id.in_(site_ids), Site.parent_id.is_not(None))
            )
        )
        held = self._held
        notices: list[IncidentChanged] = []
        for parent_id in sorted(p for p in parents | held if p is not None):  # one lock order
            notices += await _regroup_family(session, parent_id, self._rule, blind, now)
        if blind.asked and await blind.out():
            self._held = {p for p in parents | held if p is not None}
            notices += await _open_link(session, blind, self._rule, now)
        else:
            self._held = set()
        return notices


async def open_link_incident(session: AsyncSession) -> Incident | None:
    """The monitor-link incident, while the monitor's own link is out."""
    return await session.scalar(
        select(Incident).where(
            Incident.kind == IncidentKind.MONITOR_LINK, Incident.closed_at.is_(None)
        )
    )


class _NotAskedError(Exception):
    """The step needs to know whether the references answer, and nobody has asked them yet."""


class _Blindness:
    """Whether the monitor's own link is out: asked of the references once per step, and only
    if something needs to know (or a cut is under way)."""

    def __init__(self, references: list[str]) -> None:
        self.references = references
        self.unreachable: list[str] | None = None
        self.asked = False  # whether the step needed to know

    async def ask(self) -> None:
        self.unreachable = await unreachable(self.references)

    async def out(self) -> bool:
        if not self.references:
            return False
        self.asked = True
        if self.unreachable is None:
            raise _NotAskedError
        return len(self.unreachable) == len(self.references)


async def _regroup_family(
    session: AsyncSession,
    parent_id: int,
    rule: grouping.Rule,
    blind: _Blindness,
    now: datetime,
) -> list[IncidentChanged]:
    parent = await session.scalar(select(Site).where(Site.id == parent_id).with_for_update())
    if parent is None:
        return []
    family, codes = await _family(session, parent)
    decision = grouping.decide(family, rule, now)
    if decision is None:
        return []
    if decision.open_at is not None and await blind.out():
        return []  # the monitor cannot see: not the district's link, perhaps its own
    group_id = await _open_or_update(session, parent, family, decision)
    await _attach(session, decision.attach, group_id)
    state = _group_notice(decision)
    notices = [IncidentChanged(group_id, parent.code, state)] if state else []
    for incident_id in decision.attach:
        notices.append(IncidentChanged(incident_id, codes[incident_id], Notice.GROUPED))
    return notices


async def _sites_down(
    session: AsyncSession,
) -> tuple[int, list[monitor_link.SiteDown], dict[int, str]]:
    """How many sites are probed, their open down incidents, and each incident's site code."""
    probed_count = await session.scalar(select(func.count()).select_from(Site).where(probed()))
    rows = await session.execute(
        select(
            Incident.id, Site.parent_id, Incident.opened_at, Incident.parent_incident_id, Site.code
        )
        .join(Site, Incident.site_id == Site.id)
        .where(
            probed(),
            Incident.kind == IncidentKind.SITE,
            Incident.severity == SiteStatus.DOWN,
            Incident.closed_at.is_(None),
        )
    )
    down, codes = [], {}
    for incident_id, parent_id, since, link_id, code in rows:
        down.append(monitor_link.SiteDown(incident_id, parent_id, since, link_id))
        codes[incident_id] = code
    return probed_count or 0, down, codes


async def _open_link(
    session: AsyncSession, blind: _Blindness, rule: grouping.Rule, now: datetime
) -> list[IncidentChanged]:
    """The monitor-link incident, on the hub, if the failure is widespread by now."""
    hub = await session.scalar(
        select(Site).where(Site.parent_id.is_(None)).order_by(Site.id).limit(1).with_for_update()
    )
    if hub is None or await open_link_incident(session) is not None:
        return []  # (another worker opened it while this one waited for the hub's row)
    probed_count, down, codes = await _sites_down(session)
    since = monitor_link.blind_since(down, probed_count, rule)
    if since is None:
        return []
    attach = monitor_link.joining(down, -1, since, rule)
    link = Incident(
        site_id=hub.id,
        kind=IncidentKind.MONITOR_LINK,
        severity=SiteStatus.DOWN,
        opened_at=since,
        cause=monitor_link.cause(len(attach), probed_count, blind.unreachable or []),
    )
    session.add(link)
    await session.flush()
    log.warning("monitor link incident opened", extra={"cause": link.cause})
    await _attach(session, attach, link.id)
    emptied = await _close_emptied_groups(session, now)
    return [
        IncidentChanged(link.id, hub.code, Notice.OPENED),
        *(IncidentChanged(i, codes[i], Notice.GROUPED) for i in attach),
        *(IncidentChanged(group_id, code, Notice.CLOSED) for group_id, code in emptied),
    ]


async def _close_emptied_groups(session: AsyncSession, now: datetime) -> list[tuple[int, str]]:
    """Groups that opened before the monitor's link was found out and lost every open child to
    it close: it was never their parent's link."""
    child = aliased(Incident)
    rows = (
        await session.execute(
            select(Incident.id, Site.code)
            .join(Site, Incident.site_id == Site.id)
            .where(
                Incident.kind == IncidentKind.GROUP,
                Incident.closed_at.is_(None),
                ~select(child.id)
                .where(child.parent_incident_id == Incident.id, child.closed_at.is_(None))
                .exists(),
            )
        )
    ).all()
    if rows:
        await session.execute(
            update(Incident)
            .where(Incident.id.in_([group_id for group_id, _ in rows]))
            .values(closed_at=now)
        )
    return [(group_id, code) for group_id, code in rows]


async def _follow_link(
    session: AsyncSession, link: Incident, blind: _Blindness, rule: grouping.Rule, now: datetime
) -> list[IncidentChanged]:
    """Close the monitor-link incident once a reference answers and most sites are back (they
    reconnect over seconds); until then, attach every site that goes down to it."""
    hub = await session.scalar(select(Site).where(Site.id == link.site_id).with_for_update())
    assert hub is not None  # the incident goes with its site
    probed_count, down, codes = await _sites_down(session)
    if not await blind.out():
        still = sum(1 for d in down if d.link_id == link.id)
        if still >= grouping.needed(rule, probed_count):
            return []
        link.closed_at = now
        log.warning("monitor link back", extra={"incident": link.id})
        return [IncidentChanged(link.id, hub.code, Notice.CLOSED)]
    attach = monitor_link.joining(down, link.id, link.opened_at, rule)
    if not attach:
        return []
    await _attach(session, attach, link.id)
    attached = await session.scalar(
        select(func.count()).where(Incident.parent_incident_id == link.id)
    )
    link.cause = monitor_link.cause(attached or 0, probed_count, blind.unreachable or [])
    return [
        IncidentChanged(link.id, hub.code, Notice.UPDATED),
        *(IncidentChanged(i, codes[i], Notice.GROUPED) for i in attach),
    ]


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


async def _queue_notifications(
    session: AsyncSession, notices: list[IncidentChanged], now: datetime
) -> None:
    """The outbox rows of what grouping changed, in its own transaction: a group or link incident
    opened or closed, and a straggler let go (its opening was folded under the group's line, so
    it is told now that it stands on its own). Attaching a child writes nothing: the digest folds
    the child's own change under its parent's."""
    ids = {n.incident_id for n in notices if n.state != Notice.UPDATED}
    rows = await session.scalars(select(Incident).where(Incident.id.in_(ids)))
    incidents = {incident.id: incident for incident in rows}
    for notice in notices:
        incident = incidents.get(notice.incident_id)
        if incident is None:
            continue
        if notice.state == Notice.OPENED:
            outbox.record(session, incident, ChangeKind.OPENED, incident.opened_at)
        elif notice.state == Notice.CLOSED:
            outbox.record(session, incident, ChangeKind.RESOLVED, incident.closed_at or now)
        elif incident.parent_incident_id is None and incident.closed_at is None:  # let go
            outbox.record(session, incident, ChangeKind.OPENED, now)
