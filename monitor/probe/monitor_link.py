"""The monitor's own link: the rules that tell "every site fell" from "the monitor cannot see".
Pure: no database, no clock, no network (the references are checked by the store step).

When the cable in the server room is cut, every site goes down at once and a district grouping
would page 171 commune contacts. So, with reference targets configured (an agent at the hall,
the gateway: `BRIDGEWATCH_MONITOR_LINK_REFERENCES`), the monitor checks them whenever a group
would open or its own link incident is open. If every reference is unreachable, no group opens:
once sites across several parents (at least the group fraction of every probed site) have gone
down within the window, one monitor-link incident opens on the hub with every site's incident
attached, the sites not observable rather than down (a district's group that opened a moment
before, left with no child, closes). It closes once a reference answers and
fewer than that are still down; who is still down a window later stands alone (the stragglers
of grouping.py).

Only what staff and alerts are told changes, never the monitoring: a site keeps its stored
status (down, with its incident), and is shown as of unknown status, not observable (`observed`),
by the REST API, the live stream and the site metrics alike.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from models.site import SiteStatus
from monitor.probe.grouping import Rule, needed

NOT_OBSERVABLE = "not observable: the monitor's own link is down"


@dataclass(frozen=True)
class SiteDown:
    """A probed site's open down incident."""

    incident_id: int
    parent_site_id: int | None
    since: datetime
    link_id: int | None = None  # the monitor-link incident it is attached to, if any


def blind_since(down: list[SiteDown], probed: int, rule: Rule) -> datetime | None:
    """When the widespread failure began: the first `needed` of every probed site down within
    the window, under at least two parents; None if there is none (yet)."""
    ordered = sorted(down, key=lambda d: (d.since, d.incident_id))
    need = needed(rule, probed)
    parents: Counter[int | None] = Counter()
    first = 0
    for last, site in enumerate(ordered):  # a sliding window: 3,321 sites, not their pairs
        parents[site.parent_site_id] += 1
        while site.since - ordered[first].since > rule.window:
            parents[ordered[first].parent_site_id] -= 1
            parents = +parents  # forget parents with none left
            first += 1
        if last - first + 1 >= need and len(parents) >= 2:
            return ordered[first].since
    return None


def joining(down: list[SiteDown], link_id: int, since: datetime, rule: Rule) -> list[int]:
    """The incidents to attach to the open monitor-link incident (opened at `since`): every one
    down from a window before it on, not attached yet."""
    return [d.incident_id for d in down if d.link_id != link_id and d.since >= since - rule.window]


def cause(down: int, probed: int, references: list[str]) -> str:
    """The words: "monitor's link: 160 of 171 sites not observable (unreachable: 10.0.0.1:443)"."""
    return (
        f"monitor's link: {down} of {probed} sites not observable "
        f"(unreachable: {', '.join(references)})"
    )


def observed(status: SiteStatus, link_out: bool) -> SiteStatus:
    """The status a site is shown with: while the monitor's own link is out, one that reads down
    is not known to be down."""
    return SiteStatus.UNKNOWN if link_out and status == SiteStatus.DOWN else status
