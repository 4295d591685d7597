"""The monitor's own link: the rules with no database, and the references on real sockets."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from models.settings import Settings
from monitor.probe.grouping import Rule
from monitor.probe.monitor_link import SiteDown, blind_since, cause, joining
from monitor.probe.references import unreachable
from tests.service import free_port

T0 = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
RULE = Rule(fraction=0.5, window=timedelta(seconds=30))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def down(count: int, parents: int, start: float = 0, step: float = 0.2) -> list[SiteDown]:
    return [SiteDown(100 + n, n % parents, at(start + n * step)) for n in range(count)]


def test_most_sites_under_several_parents_falling_together_is_widespread() -> None:
    assert blind_since(down(90, parents=10), probed=171, rule=RULE) == T0
    assert blind_since(down(85, parents=10), probed=171, rule=RULE) is None  # under half
    # All of one district is not the monitor: its link is the district's.
    assert blind_since(down(90, parents=1), probed=171, rule=RULE) is None
    # Half of them, but over half an hour: no common moment.
    assert blind_since(down(90, parents=10, step=20), probed=171, rule=RULE) is None


def test_every_site_down_from_a_window_before_the_link_opened_joins_it_once() -> None:
    sites = [
        SiteDown(1, 5, at(-600)),  # down long before: its own trouble
        SiteDown(2, 5, at(-10)),
        SiteDown(3, 6, at(40)),
        SiteDown(4, 6, at(41), link_id=77),  # already attached
    ]
    assert joining(sites, 77, T0, RULE) == [2, 3]


def test_the_words_say_what_is_not_observable_and_which_references_failed() -> None:
    assert cause(160, 171, ["10.0.0.1:443", "10.0.0.5:8443"]) == (
        "monitor's link: 160 of 171 sites not observable (unreachable: 10.0.0.1:443, 10.0.0.5:8443)"
    )


async def test_a_reference_answers_when_something_listens_and_not_otherwise() -> None:
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    listening = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    closed = f"127.0.0.1:{free_port()}"
    try:
        assert await unreachable([listening, closed]) == [closed]
    finally:
        server.close()
        await server.wait_closed()
    assert await unreachable([listening]) == [listening]


def test_a_reference_must_be_a_host_and_a_port() -> None:
    assert Settings(monitor_link_references=["10.0.0.1:443"]).monitor_link_references
    for wrong in ["10.0.0.1", ":443", "gateway:http", "10.0.0.1:70000"]:
        with pytest.raises(ValidationError, match="not an address like host:port"):
            Settings(monitor_link_references=[wrong])
