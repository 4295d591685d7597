"""Grouping: the rules that fold incidents of sites failing together under one of their parent.
Pure: no database, no clock.

When a district's uplink falls, its communes all go down at once; staff need one line that says
what broke, not fifteen. When at least `fraction` of a parent's probed, enabled children have
gone down within `window` of one another (and at least two), one group incident opens on the
parent -- "district link: 14 of 15 communes down" -- and the children's own incidents are
attached to it: still recorded, not announced on their own. A child that goes down while the
group is open joins it, and so does one whose episode began (degraded) within `window` before
the group opened and has gone down since. The group closes when fewer than that many of its
children are still down. Children come back over a few seconds, not all at once: those still
down `window` after the group closed are the stragglers, let go (`stragglers_after`) to stand
as incidents of their own.

The decision is taken from what the database holds (every worker's sites), by the store step in
monitor/probe/group_store.py after each recorder batch; tests/test_grouping.py runs these rules
with no database at all.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.site import SiteLevel


@dataclass(frozen=True)
class Rule:
    fraction: float  # of the parent's children, 0 < fraction <= 1
    window: timedelta  # how close together their failures must be


@dataclass(frozen=True)
class Down:
    """A child's open incident, down since `since`."""

    incident_id: int
    since: datetime
    group_id: int | None = None  # the group incident it is attached to


@dataclass(frozen=True)
class OpenGroup:
    incident_id: int
    opened_at: datetime


@dataclass(frozen=True)
class Family:
    parent_site_id: int
    parent_level: SiteLevel
    child_level: SiteLevel
    children: int  # probed and enabled
    down: list[Down]
    group: OpenGroup | None = None
    ever_attached: int = 0  # incidents attached to the open group so far, closed ones included


@dataclass
class Decision:
    """What to write for one family. `open_at` set: open a group incident then; `close_at` set:
    close the open one. `cause` None: leave the words as they are."""

    open_at: datetime | None = None
    close_at: datetime | None = None
    cause: str | None = None
    attach: list[int] = field(default_factory=list)  # child incident ids


def needed(rule: Rule, children: int) -> int:
    """How many children must be down for their parent's link to be the cause."""
    return max(2, math.ceil(rule.fraction * children - 1e-9))


def decide(family: Family, rule: Rule, now: datetime) -> Decision | None:
    """What to change for `family`; None when nothing."""
    down = sorted(family.down, key=lambda d: (d.since, d.incident_id))
    need = needed(rule, family.children)
    if family.group is None:
        return _opening(family, rule, down, need)
    return _following(family, family.group, rule, down, need, now)


def _opening(family: Family, rule: Rule, down: list[Down], need: int) -> Decision | None:
    start = _first_burst(down, rule.window, need)
    if start is None:
        return None
    # Children that were down before the burst (on their own) stay their own incidents.
    joined = [d for d in down if d.group_id is None and d.since >= start]
    return Decision(
        open_at=start,
        cause=cause(family, len(joined)),
        attach=[d.incident_id for d in joined],
    )


def _first_burst(down: list[Down], window: timedelta, need: int) -> datetime | None:
    """When the first `need` children that went down within `window` of one another began."""
    for first in range(len(down) - need + 1):
        if down[first + need - 1].since - down[first].since <= window:
            return down[first].since
    return None


def _following(
    family: Family, group: OpenGroup, rule: Rule, down: list[Down], need: int, now: datetime
) -> Decision | None:
    attached = [d for d in down if d.group_id == group.incident_id]
    # A child's episode may have begun degraded a moment before the group opened and gone down
    # since: it fell with the others.
    joining = [d for d in down if d.group_id is None and d.since >= group.opened_at - rule.window]
    if len(attached) + len(joining) < need:  # the link is back
        return Decision(close_at=now)
    if not joining:
        return None
    return Decision(
        cause=cause(family, family.ever_attached + len(joining)),
        attach=[d.incident_id for d in joining],
    )


def stragglers_after(rule: Rule, now: datetime) -> datetime:
    """Children still down under a group closed before this are stragglers: let go."""
    return now - rule.window


def cause(family: Family, down: int) -> str:
    """The words of a group incident: 'district link: 14 of 15 communes down'."""
    return (
        f"{family.parent_level.value} link: "
        f"{down} of {family.children} {family.child_level.value}s down"
    )
