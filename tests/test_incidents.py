"""The incident rules on their own: status changes and windows in, episodes out, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from models.site import SiteStatus
from monitor.probe import incidents
from monitor.probe.events import SampleTaken, StatusChanged
from monitor.probe.incidents import Episode, Notice, follow
from monitor.probe.quality import figures

T0 = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
UP, DEGRADED, DOWN = SiteStatus.UP, SiteStatus.DEGRADED, SiteStatus.DOWN
MAINTENANCE = SiteStatus.MAINTENANCE


def change(old: SiteStatus, new: SiteStatus, seconds: float, site: int = 1) -> StatusChanged:
    return StatusChanged(site, f"S{site}", old, new, "test", T0 + timedelta(seconds=seconds))


def window(rtts: list[float], lost: int, seconds: float, site: int = 1) -> SampleTaken:
    at = T0 + timedelta(seconds=seconds)
    return SampleTaken(site, f"S{site}", at, bool(rtts), figures(rtts, lost))


def test_a_degraded_episode_counts_its_opening_window_goes_down_and_closes() -> None:
    open_episodes: dict[int, Episode] = {}
    # The window that made the site degraded comes right after the change it caused.
    first = follow(open_episodes, [change(UP, DEGRADED, 10), window([0.40, 0.42], 1, 10)])
    assert [(e.severity, e.notice) for e in first] == [(DEGRADED, Notice.OPENED)]
    opened = first[0]
    assert opened.worst_rtt_seconds == 0.41 and opened.worst_loss_ratio == pytest.approx(1 / 3)
    opened.notice = None  # saved and announced: the recorder's part
    later = follow(
        open_episodes,
        [window([0.90, 0.95], 2, 20), change(DEGRADED, DOWN, 25), window([], 5, 30)],
    )
    assert later == [opened] and opened.severity is DOWN and opened.notice is Notice.UPDATED
    assert opened.worst_rtt_seconds == 0.925 and opened.worst_loss_ratio == 1.0
    assert opened.worst_mos is not None and opened.worst_mos < 2
    opened.notice = None
    closed = follow(open_episodes, [change(DOWN, UP, 40), window([0.02], 0, 50)])
    assert closed == [opened] and opened.closed_at == T0 + timedelta(seconds=40)
    assert opened.notice is Notice.CLOSED and open_episodes == {}
    assert opened.worst_rtt_seconds == 0.925  # a good window after the close changes nothing


def test_an_episode_opened_and_closed_in_one_batch_is_heard_of_once_closed() -> None:
    touched = follow({}, [change(UP, DOWN, 1), change(DOWN, UP, 3)])
    assert [(e.notice, e.closed_at is not None) for e in touched] == [(Notice.CLOSED, True)]


def test_a_new_episode_going_down_in_its_first_batch_is_still_just_opened() -> None:
    touched = follow({}, [change(UP, DEGRADED, 1), change(DEGRADED, DOWN, 2)])
    assert [(e.severity, e.notice) for e in touched] == [(DOWN, Notice.OPENED)]


def test_sites_are_followed_apart_and_a_site_closed_then_reopened_has_two_episodes() -> None:
    touched = follow(
        {},
        [
            change(UP, DOWN, 1, site=1),
            change(UP, DEGRADED, 2, site=2),
            change(DOWN, UP, 3, site=1),
            change(UP, DOWN, 4, site=1),
        ],
    )
    summary = [(e.site_id, e.severity, e.closed_at is None) for e in touched]
    assert summary == [(1, DOWN, False), (2, DEGRADED, True), (1, DOWN, True)]


def test_windows_of_a_site_with_no_episode_and_good_changes_open_nothing() -> None:
    assert follow({}, [window([0.9], 3, 1), change(SiteStatus.UNKNOWN, UP, 2)]) == []


def test_an_incident_is_acknowledged_once() -> None:
    taken = incidents.acknowledge(None, None, who="Lan", note="called the commune", now=T0)
    assert (taken.by, taken.at, taken.note) == ("Lan", T0, "called the commune")
    with pytest.raises(incidents.AlreadyAcknowledgedError, match="already acknowledged by Lan"):
        incidents.acknowledge("Lan", T0, who="Minh", note="me too", now=T0)


def test_maintenance_opens_nothing_closes_what_was_open_and_its_end_is_judged() -> None:
    assert follow({}, [change(UP, MAINTENANCE, 1), window([], 5, 10)]) == []
    open_episodes: dict[int, Episode] = {}
    [opened] = follow(open_episodes, [change(UP, DOWN, 1)])
    [closed] = follow(open_episodes, [change(DOWN, MAINTENANCE, 5), window([], 5, 10)])
    assert closed is opened and closed.closed_at == T0 + timedelta(seconds=5)
    assert open_episodes == {}
    [after] = follow(open_episodes, [change(MAINTENANCE, DOWN, 60)])
    assert after is not opened and after.notice is Notice.OPENED and after.severity is DOWN
