"""One message out of the incident changes of a window. Pure: no database, no clock.

A mass outage (a district's link cut: every commune under it down) is one message listing the
sites, never one message per site. Vietnamese by default, English on request; each line says what
happened, where (the commune and its district), since when, whom to call and the dashboard link.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from models.notification import ChangeKind

MAX_LINES = 200  # a digest of a whole province stays readable and within chat limits


@dataclass(frozen=True)
class Place:
    """Where a site is and whom to call there."""

    site_id: int
    code: str
    name: str
    parent_name: str | None = None  # the district of a commune
    contact_name: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class Change:
    """One incident change as messages tell it."""

    incident_id: int
    kind: ChangeKind
    severity: str  # "down" | "degraded"
    at: datetime  # when it happened
    opened_at: datetime  # since when the site has been down or degraded
    site: Place
    rule_id: int | None = None  # a reminder's rule
    # The incident this one is a consequence of (a commune's under its district's link), once
    # incidents are grouped by cause; None: it stands on its own.
    parent_incident_id: int | None = None
    incident_kind: str = "site"  # "group": a district's link; "monitor_link": the monitor's own
    cause: str | None = None  # a group's words: "district link: 14 of 15 communes down"


@dataclass(frozen=True)
class Entry:
    """A line of the digest, with the changes folded under it."""

    change: Change
    children: tuple[Change, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Digest:
    subject: str
    text: str
    payload: dict[str, Any]


WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "group:opened:down": "SỰ CỐ ĐƯỜNG TRUYỀN",
        "group:resolved:down": "ĐƯỜNG TRUYỀN ĐÃ KHÔI PHỤC",
        "group:reminder:down": "VẪN SỰ CỐ ĐƯỜNG TRUYỀN, CHƯA CÓ NGƯỜI NHẬN XỬ LÝ",
        "monitor_link:opened:down": "MÁY GIÁM SÁT MẤT ĐƯỜNG TRUYỀN, KHÔNG QUAN SÁT ĐƯỢC ĐIỂM CẦU",
        "monitor_link:resolved:down": "MÁY GIÁM SÁT ĐÃ CÓ LẠI ĐƯỜNG TRUYỀN",
        "opened:down": "MẤT KẾT NỐI",
        "opened:degraded": "CHẤT LƯỢNG KÉM",
        "escalated:down": "CHUYỂN SANG MẤT KẾT NỐI",
        "resolved:down": "ĐÃ KHÔI PHỤC",
        "resolved:degraded": "ĐÃ KHÔI PHỤC",
        "reminder:down": "VẪN MẤT KẾT NỐI, CHƯA CÓ NGƯỜI NHẬN XỬ LÝ",
        "reminder:degraded": "VẪN CHẤT LƯỢNG KÉM, CHƯA CÓ NGƯỜI NHẬN XỬ LÝ",
        "since": "từ",
        "until": "đến",
        "contact": "liên hệ",
        "no_contact": "chưa có người liên hệ",
        "sites": "điểm cầu",
        "under": "kéo theo",
        "more": "và {n} thay đổi khác",
        "subject": "[BridgeWatch] {n} điểm cầu: {summary}",
    },
    "en": {
        "group:opened:down": "LINK DOWN",
        "group:resolved:down": "LINK RESTORED",
        "group:reminder:down": "LINK STILL DOWN, NOT ACKNOWLEDGED",
        "monitor_link:opened:down": "THE MONITOR'S OWN LINK IS DOWN, SITES NOT OBSERVABLE",
        "monitor_link:resolved:down": "THE MONITOR'S LINK IS BACK",
        "opened:down": "DOWN",
        "opened:degraded": "DEGRADED",
        "escalated:down": "NOW DOWN",
        "resolved:down": "RESOLVED",
        "resolved:degraded": "RESOLVED",
        "reminder:down": "STILL DOWN, NOT ACKNOWLEDGED",
        "reminder:degraded": "STILL DEGRADED, NOT ACKNOWLEDGED",
        "since": "since",
        "until": "until",
        "contact": "contact",
        "no_contact": "no contact on file",
        "sites": "sites",
        "under": "with",
        "more": "and {n} more changes",
        "subject": "[BridgeWatch] {n} sites: {summary}",
    },
}


def fold(changes: Iterable[Change]) -> list[Entry]:
    """THE place where a change whose incident has a parent is folded under its parent's line
    (a district's link down: one line for it, its communes counted under it, not listed). A
    child whose parent is not in this window stays a line of its own."""
    changes = list(changes)
    present = {(c.incident_id, c.kind) for c in changes}
    children: dict[tuple[int, ChangeKind], list[Change]] = {}
    entries: list[Change] = []
    for change in changes:
        parent = change.parent_incident_id
        if parent is not None and (parent, change.kind) in present:
            children.setdefault((parent, change.kind), []).append(change)
        else:
            entries.append(change)
    return [Entry(c, tuple(children.get((c.incident_id, c.kind), ()))) for c in entries]


def compose(
    changes: Iterable[Change], language: str, link: Callable[[str], str], zone: tzinfo
) -> Digest:
    """The message for a window's changes (at least one), oldest first."""
    words = WORDS.get(language, WORDS["vi"])
    entries = fold(sorted(changes, key=lambda c: (c.at, c.site.code)))
    lines = [_line(entry, words, link, zone) for entry in entries[:MAX_LINES]]
    if len(entries) > MAX_LINES:
        lines.append(words["more"].format(n=len(entries) - MAX_LINES))
    count = sum(1 + len(entry.children) for entry in entries)
    subject = _subject(entries, words, count)
    payload = {
        "type": "bridgewatch.incidents",
        "subject": subject,
        "changes": [_json(c, link) for e in entries for c in (e.change, *e.children)],
    }
    return Digest(subject, "\n".join([subject, "", *lines]), payload)


def _what(change: Change, words: dict[str, str]) -> str:
    plain = words.get(f"{change.kind}:{change.severity}", f"{change.kind} {change.severity}")
    return words.get(f"{change.incident_kind}:{change.kind}:{change.severity}", plain)


def _subject(entries: list[Entry], words: dict[str, str], count: int) -> str:
    if len(entries) == 1:  # one site, or one link with the sites it took down
        entry = entries[0]
        subject = f"[BridgeWatch] {_what(entry.change, words)}: {_where(entry.change.site)}"
        if entry.children:
            subject += f" ({words['under']} {len(entry.children)} {words['sites']})"
        return subject
    tally: dict[str, int] = {}
    for change in (c for entry in entries for c in (entry.change, *entry.children)):
        what = _what(change, words)
        tally[what] = tally.get(what, 0) + 1
    summary = ", ".join(f"{n} {what.lower()}" for what, n in tally.items())
    return words["subject"].format(n=count, summary=summary)


def _where(place: Place) -> str:
    return f"{place.name}, {place.parent_name}" if place.parent_name else place.name


def _line(entry: Entry, words: dict[str, str], link: Callable[[str], str], zone: tzinfo) -> str:
    change = entry.change
    site = change.site
    when = f"{words['since']} {_clock(change.opened_at, zone)}"
    if change.kind is ChangeKind.RESOLVED:
        when += f" {words['until']} {_clock(change.at, zone)}"
    contact = ", ".join(p for p in (site.contact_name, site.contact_phone) if p)
    parts = [
        f"• {_what(change, words)}: {_where(site)}",
        when,
        f"{words['contact']}: {contact}" if contact else words["no_contact"],
        link(site.code),
    ]
    if entry.children:
        parts.append(f"{words['under']} {len(entry.children)} {words['sites']}")
    return " — ".join(parts)


def _clock(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M %d/%m/%Y")


def _json(change: Change, link: Callable[[str], str]) -> dict[str, Any]:
    site = change.site
    return {
        "incident_id": change.incident_id,
        "parent_incident_id": change.parent_incident_id,
        "incident_kind": change.incident_kind,
        "cause": change.cause,
        "kind": str(change.kind),
        "severity": change.severity,
        "at": change.at.isoformat(),
        "since": change.opened_at.isoformat(),
        "site": {
            "code": site.code,
            "name": site.name,
            "parent_name": site.parent_name,
            "contact_name": site.contact_name,
            "contact_phone": site.contact_phone,
            "url": link(site.code),
        },
    }
