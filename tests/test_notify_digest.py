"""The pure parts of notifications: which rules a change concerns, the digest that lists a
window's changes in one message (Vietnamese by default), children folded under their parent, and
how a failed round is logged."""

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.notification import ChangeKind
from monitor.notify.digest import Change, Place, compose, fold
from monitor.notify.rules import Rule, concerns
from monitor.notify.trouble import RoundTrouble

T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
# District 10 with communes 11, 12; district 20 with commune 21; all under the province 1.
PARENTS: dict[int, int | None] = {1: None, 10: 1, 11: 10, 12: 10, 20: 1, 21: 20}


def link(code: str) -> str:
    return f"https://bw.tinh.vn/?site={code}"


def change(
    site_id: int,
    kind: ChangeKind = ChangeKind.OPENED,
    severity: str = "down",
    parent: int | None = None,
    rule_id: int | None = None,
    incident_kind: str = "site",
) -> Change:
    place = Place(site_id, f"0{site_id}", f"Xã Số {site_id}", "Huyện Hòa An", "Chị Lan", "0912")
    return Change(
        incident_id=100 + site_id,
        kind=kind,
        severity=severity,
        at=T0 + timedelta(minutes=30),
        opened_at=T0,
        site=place,
        rule_id=rule_id,
        parent_incident_id=parent,
        incident_kind=incident_kind,
    )


def test_a_rule_covers_its_subtree_its_severities_and_its_conference() -> None:
    district = Rule(1, frozenset({"down"}), subtree_of=10)
    assert concerns(district, change(11), PARENTS)
    assert concerns(district, change(10), PARENTS)
    assert not concerns(district, change(21), PARENTS)
    assert not concerns(district, change(11, severity="degraded"), PARENTS)
    conference = Rule(2, frozenset({"down", "degraded"}), conference_sites=frozenset({21}))
    assert concerns(conference, change(21, severity="degraded"), PARENTS)
    assert not concerns(conference, change(11), PARENTS)


def test_resolved_and_reminders_go_only_where_asked() -> None:
    quiet = Rule(1, frozenset({"down"}), notify_resolved=False)
    assert not concerns(quiet, change(11, ChangeKind.RESOLVED), PARENTS)
    assert concerns(Rule(2, frozenset({"down"})), change(11, ChangeKind.RESOLVED), PARENTS)
    reminder = change(11, ChangeKind.REMINDER, rule_id=2)
    assert concerns(Rule(2, frozenset({"down"})), reminder, PARENTS)
    assert not concerns(Rule(3, frozenset({"down"})), reminder, PARENTS)


def test_a_cycle_in_the_tree_ends_the_walk() -> None:
    assert not concerns(Rule(1, frozenset({"down"}), subtree_of=99), change(5), {5: 6, 6: 5})


def test_a_mass_outage_is_one_message_listing_every_site_in_vietnamese() -> None:
    digest = compose([change(i) for i in range(30, 42)], "vi", link, HANOI)
    assert digest.subject == "[BridgeWatch] 12 điểm cầu: 12 mất kết nối"
    lines = digest.text.splitlines()[2:]
    assert len(lines) == 12
    assert lines[0] == (
        "• MẤT KẾT NỐI: Xã Số 30, Huyện Hòa An — từ 08:00 02/12/2026 — liên hệ: Chị Lan, 0912"
        " — https://bw.tinh.vn/?site=030"
    )
    assert [c["site"]["code"] for c in digest.payload["changes"]] == [
        f"0{i}" for i in range(30, 42)
    ]


def test_one_change_is_named_in_the_subject_and_english_on_request() -> None:
    digest = compose([change(11, ChangeKind.RESOLVED)], "en", link, HANOI)
    assert digest.subject == "[BridgeWatch] RESOLVED: Xã Số 11, Huyện Hòa An"
    assert "since 08:00 02/12/2026 until 08:30 02/12/2026" in digest.text


def test_children_are_folded_under_their_parent_in_the_same_window() -> None:
    parent = change(10)
    children = [change(11, parent=parent.incident_id), change(12, parent=parent.incident_id)]
    orphan = change(21, parent=999)  # its parent not in this window: a line of its own
    entries = fold([parent, *children, orphan])
    assert [(e.change.site.site_id, len(e.children)) for e in entries] == [(10, 2), (21, 0)]
    digest = compose([parent, *children, orphan], "vi", link, HANOI)
    assert digest.subject == "[BridgeWatch] 4 điểm cầu: 4 mất kết nối"
    assert "kéo theo 2 điểm cầu" in digest.text
    assert len(digest.payload["changes"]) == 4


def test_a_district_link_is_one_line_naming_the_link_and_the_communes_it_took_down() -> None:
    district = change(10, incident_kind="group")
    communes = [change(site, parent=district.incident_id) for site in range(11, 26)]
    digest = compose([*communes, district], "vi", link, HANOI)
    assert digest.subject == (
        "[BridgeWatch] SỰ CỐ ĐƯỜNG TRUYỀN: Xã Số 10, Huyện Hòa An (kéo theo 15 điểm cầu)"
    )
    assert sum(line.startswith("•") for line in digest.text.splitlines()) == 1
    english = compose([*communes, district], "en", link, HANOI)
    assert english.subject.startswith("[BridgeWatch] LINK DOWN: Xã Số 10")
    back = compose(
        [change(10, ChangeKind.RESOLVED, incident_kind="group"), change(21)], "vi", link, HANOI
    )
    assert back.subject == "[BridgeWatch] 2 điểm cầu: 1 đường truyền đã khôi phục, 1 mất kết nối"


def test_a_database_outage_is_logged_once_and_a_bug_every_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    trouble = RoundTrouble(logging.getLogger("test.notify"), "notification dispatch")
    with caplog.at_level(logging.WARNING, "test.notify"):
        for _ in range(3):
            trouble.failed(ConnectionRefusedError("database down"))
        trouble.succeeded()
        trouble.failed(ConnectionRefusedError("database down again"))
        trouble.failed(ValueError("a bug"))
        trouble.failed(ValueError("a bug"))
    assert [(r.levelname, r.message, r.exc_info is not None) for r in caplog.records] == [
        ("WARNING", "database not reachable; notifications wait", False),
        ("WARNING", "database not reachable; notifications wait", False),
        ("ERROR", "notification round failed", True),
        ("ERROR", "notification round failed", True),
    ]
