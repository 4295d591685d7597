"""Which rules an incident change concerns. Pure: the caller hands in the sites' parents.

A rule names the severities it is about (down, degraded), optionally a site whose subtree it
covers (a district and its communes) and/or a conference whose sites it covers, and whether it
wants the resolved message. A reminder concerns only the rule that asked for it.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from models.notification import ChangeKind
from monitor.notify.digest import Change


@dataclass(frozen=True)
class Rule:
    rule_id: int
    statuses: frozenset[str]
    subtree_of: int | None = None  # a site id; None: every site
    conference_sites: frozenset[int] | None = None  # None: no conference asked
    notify_resolved: bool = True


def in_subtree(site_id: int, root: int, parents: Mapping[int, int | None]) -> bool:
    """Whether `site_id` is `root` or under it; a cycle in bad data ends the walk."""
    seen: set[int] = set()
    current: int | None = site_id
    while current is not None and current not in seen:
        if current == root:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def concerns(rule: Rule, change: Change, parents: Mapping[int, int | None]) -> bool:
    if change.kind is ChangeKind.REMINDER and change.rule_id != rule.rule_id:
        return False
    if change.kind is ChangeKind.RESOLVED and not rule.notify_resolved:
        return False
    if change.severity not in rule.statuses:
        return False
    if rule.conference_sites is not None and change.site.site_id not in rule.conference_sites:
        return False
    return rule.subtree_of is None or in_subtree(change.site.site_id, rule.subtree_of, parents)
