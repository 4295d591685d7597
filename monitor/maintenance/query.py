"""Which sites are in maintenance now, and which windows apply to a site, from the database."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.maintenance import MaintenanceWindow
from models.site import Site
from monitor.maintenance.windows import Window, current


@dataclass(frozen=True)
class InMaintenance:
    window_id: int  # the oldest window on: its note is the one shown
    note: str
    until: datetime  # the end of the last of the windows on now


def window_of(row: MaintenanceWindow) -> Window:
    return Window(row.starts_at, row.duration(), row.rrule, row.time_zone)


def not_over(now: datetime) -> ColumnElement[bool]:
    """Windows that may still be on at `now` or later."""
    return or_(MaintenanceWindow.ends_at.is_(None), MaintenanceWindow.ends_at > now)


async def in_maintenance(session: AsyncSession, now: datetime) -> dict[int, InMaintenance]:
    """Site id -> the maintenance it is in at `now` (a subtree window covers every site under
    its site, however deep)."""
    rows = await session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.starts_at <= now, not_over(now))
        .order_by(MaintenanceWindow.id)
    )
    on = [(row, span) for row in rows.all() if (span := current(window_of(row), now))]
    if not on:
        return {}
    children = await _children(session) if any(row.subtree for row, _ in on) else {}
    found: dict[int, InMaintenance] = {}
    for row, span in on:
        for site_id in _covered(row, children):
            known = found.get(site_id)
            if known is None:
                found[site_id] = InMaintenance(row.id, row.note, span.end)
            elif span.end > known.until:
                found[site_id] = InMaintenance(known.window_id, known.note, span.end)
    return found


async def _children(session: AsyncSession) -> dict[int, list[int]]:
    pairs = await session.execute(
        select(Site.id, Site.parent_id).where(Site.parent_id.is_not(None))
    )
    children: dict[int, list[int]] = defaultdict(list)
    for site_id, parent_id in pairs.all():
        if parent_id is not None:
            children[parent_id].append(site_id)
    return children


def _covered(row: MaintenanceWindow, children: dict[int, list[int]]) -> Iterable[int]:
    yield row.site_id
    if not row.subtree:
        return
    todo = list(children.get(row.site_id, ()))
    while todo:
        site_id = todo.pop()
        yield site_id
        todo.extend(children.get(site_id, ()))


async def ancestors(session: AsyncSession, site: Site) -> list[int]:
    """The ids of the sites above `site`, its parent first."""
    found: list[int] = []
    parent_id = site.parent_id
    while parent_id is not None and parent_id not in found:
        found.append(parent_id)
        parent_id = await session.scalar(select(Site.parent_id).where(Site.id == parent_id))
    return found


async def windows_of_site(
    session: AsyncSession, site: Site, now: datetime
) -> Sequence[MaintenanceWindow]:
    """The windows not over that apply to `site`: its own, and the subtree windows above it."""
    above = await ancestors(session, site)
    rows = await session.scalars(
        select(MaintenanceWindow)
        .where(
            not_over(now),
            or_(
                MaintenanceWindow.site_id == site.id,
                MaintenanceWindow.subtree.is_(True) & MaintenanceWindow.site_id.in_(above),
            ),
        )
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)
    )
    return rows.all()


def on_now(rows: Sequence[MaintenanceWindow], now: datetime) -> InMaintenance | None:
    """What the windows `rows` (of one site) make of it at `now`, as `in_maintenance` would."""
    spans = [(row, span) for row in rows if (span := current(window_of(row), now))]
    if not spans:
        return None
    oldest = min(spans, key=lambda pair: pair[0].id)[0]
    return InMaintenance(oldest.id, oldest.note, max(span.end for _, span in spans))
