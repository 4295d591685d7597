"""Long history: per-minute rollups of the samples, written with the samples by the recorder,
the same however often they are written, kept past the raw samples, and read by the samples
endpoint for long ranges (SQLite and PostgreSQL)."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from models.auth import Role
from models.db import SessionMaker
from models.history import Sample, SampleRollup
from models.site import Site
from monitor.probe import rollups
from monitor.probe.events import EventBus, SampleTaken
from monitor.probe.quality import figures
from monitor.probe.recorder import Recorder, prune_samples
from tests.probing import eventually

CODE = "040"
# Fixed and in the past: minutes are whole, the endpoint's "now" is later than all of them.
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def _site_id(sessionmaker: SessionMaker) -> int:
    async with sessionmaker() as session:
        site_id = await session.scalar(select(Site.id).where(Site.code == CODE))
    assert site_id is not None
    return site_id


def _sample(site_id: int, seconds: float, rtts: list[float], lost: int = 0) -> SampleTaken:
    at = T0 + timedelta(seconds=seconds)
    return SampleTaken(site_id, CODE, at, bool(rtts), figures(rtts, lost))


async def _record(sessionmaker: SessionMaker, events: list[SampleTaken]) -> None:
    bus = EventBus()
    recorder = Recorder(sessionmaker, bus, flush_seconds=0.05)
    task = asyncio.create_task(recorder.run())
    try:
        for event in events:
            bus.publish(event)

        async def written() -> bool:
            return recorder.written == len(events)

        await eventually(written, "the recorder wrote every sample")
    finally:
        recorder.stop()
        await asyncio.wait_for(task, 30)


async def _rollups(sessionmaker: SessionMaker) -> list[tuple[Any, ...]]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(SampleRollup).order_by(SampleRollup.minute))
        return [
            (
                r.minute,
                r.windows,
                r.reachable_windows,
                r.rtt_median_seconds,
                r.rtt_p95_seconds,
                r.loss_ratio,
                r.mos,
                r.mos_min,
            )
            for r in rows
        ]


async def test_the_recorder_sums_each_minute_up_with_its_samples(seeded: SessionMaker) -> None:
    site_id = await _site_id(seeded)
    first_minute = [
        _sample(site_id, 0, [0.10, 0.10]),
        _sample(site_id, 10, [0.20, 0.20]),
        _sample(site_id, 20, [], lost=10),  # the site did not answer in this window
    ]
    # Two batches: the minute's rollup follows its later samples too.
    await _record(seeded, first_minute[:2])
    await _record(seeded, [*first_minute[2:], _sample(site_id, 65, [0.30, 0.50], lost=1)])
    rows = await _rollups(seeded)
    assert [(r[0], r[1], r[2]) for r in rows] == [(T0, 3, 2), (T0 + rollups.MINUTE, 1, 1)]
    one = rows[0]
    assert one[3] == pytest.approx(0.15)  # mean of the medians of the windows answered
    assert one[4] == pytest.approx(0.2)  # the worst window's p95
    assert one[5] == pytest.approx(1 / 3)  # mean loss: 0, 0 and 1
    assert one[7] < one[6]  # the worst MOS below the mean


async def test_a_rollup_is_the_same_however_often_it_is_written(seeded: SessionMaker) -> None:
    site_id = await _site_id(seeded)
    await _record(seeded, [_sample(site_id, s, [0.1 + s / 1000]) for s in range(0, 60, 10)])
    before = await _rollups(seeded)
    written = [(site_id, T0 + timedelta(seconds=s)) for s in (5, 50)]
    for _ in range(3):  # a retried batch, a second worker handing the site over
        async with seeded() as session, session.begin():
            assert await rollups.refresh(session, written) == 1
    assert await _rollups(seeded) == before
    assert before[0][1:3] == (6, 6)


async def test_rollups_outlive_the_raw_samples(seeded: SessionMaker) -> None:
    site_id = await _site_id(seeded)
    await _record(seeded, [_sample(site_id, 0, [0.1]), _sample(site_id, 3600, [0.2])])
    # Raw retention passes the first hour; the rollups' (a year) has not come.
    assert await prune_samples(seeded, T0 + timedelta(minutes=30)) == 1
    assert len(await _rollups(seeded)) == 2
    assert await rollups.prune(seeded, T0 + timedelta(minutes=30)) == 1
    assert [r[0] for r in await _rollups(seeded)] == [T0 + timedelta(hours=1)]


async def test_the_samples_endpoint_reads_minutes_for_long_ranges(
    client: httpx.AsyncClient, seeded: SessionMaker, auth: dict[Role, dict[str, str]]
) -> None:
    site_id = await _site_id(seeded)
    # Three days of one window per hour, rolled up as the recorder does.
    ats = [T0 + timedelta(hours=h) for h in range(72)]
    async with seeded() as session, session.begin():
        await session.execute(
            insert(Sample),
            [
                {"site_id": site_id, "at": at, "reachable": h % 2 == 0, "rtt_median_seconds": 0.1}
                for h, at in enumerate(ats)
            ],
        )
        await rollups.refresh(session, [(site_id, at) for at in ats])
    url = f"/api/v1/sites/{CODE}/samples"
    viewer = auth[Role.VIEWER]

    async def get(**params: str) -> dict[str, Any]:
        response = await client.get(url, params=params, headers=viewer)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    long = await get(since=T0.isoformat(), until=(T0 + timedelta(days=3)).isoformat())
    assert long["resolution"] == "minute" and long["items"] == []
    minutes = long["minutes"]
    assert len(minutes) == 72
    assert minutes[0]["minute"] == "2026-12-03T07:00:00Z"  # newest first
    assert [m["up_ratio"] for m in minutes[-2:]] == [0.0, 1.0]
    short = await get(since=T0.isoformat(), until=(T0 + timedelta(hours=6)).isoformat())
    assert short["resolution"] == "window" and short["minutes"] == []
    assert len(short["items"]) == 6
    # Asked for: minutes over a short range, windows over a long one.
    by_minute = await get(since=T0.isoformat(), resolution="minute", limit="5")
    assert len(by_minute["minutes"]) == 5
    assert (await get(resolution="window"))["resolution"] == "window"
    response = await client.get(url, params={"resolution": "hour"}, headers=viewer)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
