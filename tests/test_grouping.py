"""The grouping rules on their own: a parent's family in, what to write out, no database."""

from datetime import UTC, datetime, timedelta

from models.site import SiteLevel
from monitor.probe.grouping import (
    Down,
    Family,
    OpenGroup,
    Rule,
    decide,
    needed,
    stragglers_after,
)

T0 = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
RULE = Rule(fraction=0.5, window=timedelta(seconds=30))
GROUP = 900


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def district(down: list[Down], children: int = 15, **more: object) -> Family:
    return Family(
        parent_site_id=1,
        parent_level=SiteLevel.DISTRICT,
        child_level=SiteLevel.COMMUNE,
        children=children,
        down=down,
        **more,  # type: ignore[arg-type]
    )


def downs(count: int, start: float = 0, step: float = 1, first_id: int = 100) -> list[Down]:
    return [Down(first_id + n, at(start + n * step)) for n in range(count)]


def test_most_communes_down_together_open_one_district_incident_with_theirs_attached() -> None:
    decision = decide(district(downs(14)), RULE, at(20))
    assert decision is not None
    assert decision.open_at == T0 and decision.close_at is None
    assert decision.cause == "district link: 14 of 15 communes down"
    assert decision.attach == list(range(100, 114))


def test_fewer_than_half_down_or_down_far_apart_is_no_group() -> None:
    assert decide(district(downs(7)), RULE, at(20)) is None  # 7 of 15: under half
    # Eight down, but a minute apart each: no common cause to speak of.
    assert decide(district(downs(8, step=60)), RULE, at(600)) is None


def test_the_burst_is_found_after_sites_down_on_their_own_which_stay_their_own() -> None:
    old = [Down(1, at(-3600)), Down(2, at(-1800))]  # down for an hour, each for its own reason
    decision = decide(district(old + downs(8, start=10)), RULE, at(40))
    assert decision is not None and decision.open_at == at(10)
    assert decision.attach == list(range(100, 108))
    assert decision.cause == "district link: 8 of 15 communes down"
    # Nine down, but the two old ones and these seven are not one burst of the 8 needed.
    assert decide(district(old + downs(7, start=10)), RULE, at(40)) is None


def test_a_family_of_one_child_or_one_down_never_groups() -> None:
    assert needed(RULE, 1) == 2 and needed(RULE, 2) == 2 and needed(RULE, 15) == 8
    assert decide(district(downs(1), children=1), RULE, at(5)) is None


def test_a_child_going_down_while_the_group_is_open_joins_it() -> None:
    attached = [Down(100 + n, at(n), GROUP) for n in range(9)]
    late = Down(200, at(45))
    family = district([*attached, late], group=OpenGroup(GROUP, T0), ever_attached=9)
    decision = decide(family, RULE, at(46))
    assert decision is not None and decision.open_at is None and decision.close_at is None
    assert decision.attach == [200] and decision.cause == "district link: 10 of 15 communes down"
    # Degraded a moment before the group opened, down since: it fell with the others.
    slow = Down(201, at(-10))
    family = district([*attached, slow], group=OpenGroup(GROUP, T0), ever_attached=9)
    decision = decide(family, RULE, at(46))
    assert decision is not None and decision.attach == [201]
    # Down long before: its own trouble, not the link's.
    family = district([*attached, Down(202, at(-300))], group=OpenGroup(GROUP, T0))
    assert decide(family, RULE, at(46)) is None
    # Already attached, nothing new: nothing to write.
    assert decide(district(attached, group=OpenGroup(GROUP, T0)), RULE, at(46)) is None


def test_the_group_closes_when_the_children_recover_and_the_stragglers_stand_alone() -> None:
    slow = [Down(100 + n, at(n), GROUP) for n in range(7)]  # 7 of 15 still down: under half
    before = Down(5, at(-600))  # down before the group: never its child
    family = district([before, *slow], group=OpenGroup(GROUP, T0), ever_attached=14)
    decision = decide(family, RULE, at(300))
    assert decision is not None and decision.close_at == at(300) and decision.cause is None
    assert decision.attach == []
    # Still down a window after the close: stragglers, their own incidents from then on.
    assert stragglers_after(RULE, at(330)) == at(300)


def test_the_fraction_and_window_are_the_rules_own() -> None:
    strict = Rule(fraction=0.9, window=timedelta(seconds=5))
    assert decide(district(downs(13)), strict, at(20)) is None  # 13 of 15 < 90 %
    assert decide(district(downs(14, step=1)), strict, at(20)) is None  # 14 over 13 s > 5 s
    decision = decide(district(downs(14, step=0.3)), strict, at(20))
    assert decision is not None and decision.open_at == T0


def test_the_words_name_the_levels_of_the_parent_and_its_children() -> None:
    hub = Family(
        parent_site_id=1,
        parent_level=SiteLevel.HUB,
        child_level=SiteLevel.DISTRICT,
        children=10,
        down=downs(9),
    )
    decision = decide(hub, RULE, at(10))
    assert decision is not None and decision.cause == "hub link: 9 of 10 districts down"
