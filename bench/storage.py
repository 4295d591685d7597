"""Benchmark: database bytes per site per day, raw samples and their per-minute rollups.

    .venv/bin/python -m bench.storage [--sites 5] [--window 10]

A fresh SQLite file (migrated, the Cao Bằng topology) gets one day of measurement windows for N
communes, written by the real recorder as the engine writes them (its batches refresh the
minutes' rollups): one window per site every `--window` seconds, 10 pings each with varied
RTTs and an occasional loss, the agent's report and the connection's path, as a steady
conference-day site produces. The file is measured after VACUUM with everything, with the
rollups deleted (the samples alone: what a day cost before rollups) and with the raw samples
deleted (the rollups alone: what a day costs once its raw samples are past retention).
Prints results, asserts nothing.
"""

import argparse
import asyncio
import contextlib
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from models import migrations
from models.db import create_engine, create_sessionmaker
from models.history import Sample, SampleRollup
from models.site import Site, SiteLevel
from models.topology.builtin import seed_if_empty
from monitor.probe.events import EventBus, SampleTaken
from monitor.probe.quality import figures
from monitor.probe.recorder import Recorder

DAY = timedelta(days=1)
START = datetime(2026, 12, 1, tzinfo=UTC)


def window(site_id: int, code: str, at: datetime, rng: random.Random) -> SampleTaken:
    base = 0.02 + (site_id % 7) * 0.01
    rtts = [max(0.001, rng.gauss(base, base / 5)) for _ in range(10)]
    lost = 1 if rng.random() < 0.05 else 0
    return SampleTaken(
        site_id,
        code,
        at,
        True,
        figures(rtts[lost:], lost),
        last_seen_at=at,
        report={"attendance": 25, "version": "0.1.0"},
        local_candidate_type="host",
        remote_candidate_type="srflx",
    )


async def prepare(url: str, sites: int) -> list[tuple[int, str]]:
    """Migrate, seed the topology; the ids and codes of the first N communes."""
    engine = create_engine(url)
    try:
        await migrations.upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        await seed_if_empty(sessionmaker, "cao-bang")
        async with sessionmaker() as session:
            query = select(Site.id, Site.code).where(Site.level == SiteLevel.COMMUNE)
            rows = await session.execute(query.order_by(Site.code).limit(sites))
            return [(site_id, code) for site_id, code in rows]
    finally:
        await engine.dispose()


async def fill(url: str, chosen: list[tuple[int, str]], window_seconds: int) -> int:
    """A day of windows for the chosen sites, through the recorder; how many were written."""
    engine = create_engine(url)
    try:
        bus = EventBus()
        recorder = Recorder(create_sessionmaker(engine), bus, flush_seconds=0.05)
        task = asyncio.create_task(recorder.run())
        rng = random.Random(1)
        count = 0
        for step in range(int(DAY.total_seconds()) // window_seconds):
            at = START + timedelta(seconds=step * window_seconds)
            for site_id, code in chosen:
                bus.publish(window(site_id, code, at, rng))
                count += 1
            # As the engine's: batches of what came meanwhile (no event tells of the backlog).
            while recorder.backlog > 5_000:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        recorder.stop()
        await task
        assert recorder.written == count, (recorder.written, count)
        return count
    finally:
        await engine.dispose()


def size_after_vacuum(path: Path, delete: str | None = None) -> int:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        if delete is not None:
            connection.execute(f"DELETE FROM {delete}")  # noqa: S608 (our own table names)
            connection.commit()
        connection.execute("VACUUM")
    return path.stat().st_size


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bw-storage-") as tmp:
        path = Path(tmp) / "day.db"
        url = f"sqlite+aiosqlite:///{path}"
        chosen = await prepare(url, args.sites)
        baseline = size_after_vacuum(path)
        started = time.monotonic()
        windows = await fill(url, chosen, args.window)
        took = time.monotonic() - started
        both = size_after_vacuum(path)
        raw_copy, rollup_copy = Path(tmp) / "raw.db", Path(tmp) / "rollups.db"
        shutil.copyfile(path, raw_copy)
        shutil.copyfile(path, rollup_copy)
        raw_only = size_after_vacuum(raw_copy, SampleRollup.__tablename__)
        rollups_only = size_after_vacuum(rollup_copy, Sample.__tablename__)

    def per_site_day(size: int) -> str:
        return f"{(size - baseline) / len(chosen) / 1024:,.0f} KiB"

    print(
        f"storage: {len(chosen)} sites, one day, a window every {args.window} s "
        f"({windows} windows written in {took:.1f} s), SQLite after VACUUM, per site and day:"
    )
    print(f"  raw samples alone (before rollups): {per_site_day(raw_only)}")
    print(f"  raw samples and rollups (now):      {per_site_day(both)}")
    print(f"  rollups alone (past raw retention): {per_site_day(rollups_only)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.storage")
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--window", type=int, default=10, help="seconds per window")
    asyncio.run(main(parser.parse_args()))
