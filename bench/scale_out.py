"""Benchmark: the probe engine split over `bridgewatch worker` processes sharing PostgreSQL.

    .venv/bin/python -m bench.scale_out [--sites 600] [--workers 2] [--seconds 30] [--heartbeat 1]

A throwaway PostgreSQL database (on BRIDGEWATCH_TEST_POSTGRES_URL's server) gets the built-in
`vietnam-2025` topology; N communes point at real aiortc agents in separate processes (the agent
sub-mode of `bench.engine`). K workers start together with the default timing (1 s heartbeats,
10 s windows, 15 s leases). Reported, in phases:
  1. start: time until every site is up, and how the sites split over the workers;
  2. steady: CPU per site-second and RSS of each worker;
  3. failover: one worker is SIGKILLed; time until the others hold all its sites, time until
     they are all up again, and every `down` recorded meanwhile (all agents stay alive, so any
     down is a false alarm);
  4. rebalance: a fresh worker joins; time until it holds its share, and downs meanwhile;
  5. stop: a worker is sent SIGTERM; seconds until it has exited (Docker waits 10 s).

It prints results and asserts nothing; every phase has its own deadline, and the database and
every process are removed at the end.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

from bench.engine import agent_processes, prepare
from bench.proc import cpu_seconds, load_average, rss_mb
from models.db import asyncpg_dsn, open_database
from models.history import StatusChange
from models.lease import MonitorWorker, SiteLease
from models.site import Site, SiteStatus
from monitor.scaleout.queries import fair_share
from tests.databases import POSTGRES_ADMIN_URL, postgres_url
from tests.service import spawned

WORKER = [str(Path(sys.executable).with_name("bridgewatch")), "worker"]
PHASE_SECONDS = 300.0
ANSWERING = (SiteStatus.UP, SiteStatus.DEGRADED)


@contextlib.asynccontextmanager
async def database() -> AsyncIterator[str]:
    name = f"bw_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield postgres_url(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def worker_env(url: str, heartbeat: float, log_level: str = "warning") -> dict[str, str]:
    return {
        "BRIDGEWATCH_DATABASE_URL": url,
        "BRIDGEWATCH_HEARTBEAT_INTERVAL_SECONDS": str(heartbeat),
        "BRIDGEWATCH_ICE_HOST_ADDRESSES": '["127.0.0.1"]',
        "BRIDGEWATCH_LOG_LEVEL": log_level,
    }


class WorkerProcesses:
    """The worker processes, started and ended from threads (the loop keeps measuring)."""

    def __init__(
        self, url: str, folder: Path, heartbeat: float, log_level: str = "warning"
    ) -> None:
        self.url = url
        self.folder = folder
        self.heartbeat = heartbeat
        self.log_level = log_level
        self.stack = contextlib.ExitStack()
        self.workers: list[tuple[str, subprocess.Popen[bytes]]] = []

    async def start(self) -> tuple[str, subprocess.Popen[bytes]]:
        folder = self.folder / f"worker-{len(self.workers)}"
        folder.mkdir()
        started = await asyncio.to_thread(
            self.stack.enter_context,
            spawned(WORKER, worker_env(self.url, self.heartbeat, self.log_level), folder),
        )
        self.workers.append(started)
        return started

    def alive(self) -> list[tuple[str, subprocess.Popen[bytes]]]:
        return [(base, p) for base, p in self.workers if p.poll() is None]


async def holdings(workers: WorkerProcesses) -> list[int]:
    """Sites each live worker holds, from the lease table: a saturated worker's /metrics can
    take longer to answer than a benchmark should wait, and a count it did not give is not 0."""
    async with open_database(workers.url) as sessionmaker, sessionmaker() as session:
        rows = await session.execute(
            select(MonitorWorker.url, func.count(SiteLease.site_id))
            .join(SiteLease, SiteLease.worker_id == MonitorWorker.id)
            .where(SiteLease.expires_at > func.now())
            .group_by(MonitorWorker.url)
        )
        held: dict[str | None, int] = {url: count for url, count in rows}
    return [held.get(base, 0) for base, _ in workers.alive()]


async def answering(url: str, codes: list[str], since: datetime | None) -> int:
    """Sites up or degraded; with `since`, only those that answered a heartbeat after it (a
    dead worker's sites keep the status it last wrote)."""
    query = select(func.count()).select_from(Site).where(Site.code.in_(codes))
    query = query.where(Site.status.in_(ANSWERING))
    if since is not None:
        query = query.where(Site.last_seen_at > since)
    async with open_database(url) as sessionmaker, sessionmaker() as session:
        count = await session.scalar(query)
    return count or 0


async def downs_since(url: str, since: datetime) -> list[str]:
    async with open_database(url) as sessionmaker, sessionmaker() as session:
        rows = await session.execute(
            select(Site.code, StatusChange.reason)
            .join(Site, Site.id == StatusChange.site_id)
            .where(StatusChange.new_status == SiteStatus.DOWN, StatusChange.at >= since)
        )
    return [f"{code}: {reason}" for code, reason in rows]


async def until(check: "Check", what: str) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < PHASE_SECONDS:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    print(f"  not within {PHASE_SECONDS:.0f} s: {what}")
    return None


class Check:
    def __init__(
        self, run: "Run", wanted: str, expected: int = 0, since: datetime | None = None
    ) -> None:
        self.run = run
        self.wanted = wanted
        self.expected = expected
        self.since = since

    async def __call__(self) -> bool:
        run = self.run
        if self.wanted == "answering":
            return await answering(run.url, run.codes, self.since) == len(run.codes)
        held = await holdings(run.workers)
        if self.wanted == "held":
            return sum(held) == len(run.codes)
        return sum(held) == len(run.codes) and held[-1] >= self.expected  # "joined"


class Run:
    def __init__(self, url: str, codes: list[str], workers: WorkerProcesses) -> None:
        self.url = url
        self.codes = codes
        self.workers = workers


def fmt(seconds: float | None) -> str:
    return "not reached" if seconds is None else f"{seconds:.1f} s"


async def start_phase(run: Run, workers: int) -> None:
    started = time.monotonic()
    for _ in range(workers):
        await run.workers.start()
    up = await until(Check(run, "answering"), "every site up")
    took = None if up is None else time.monotonic() - started
    print(f"start: {workers} workers; every site answering {fmt(took)} after the first started")
    print(f"  sites per worker: {await holdings(run.workers)}")


async def steady_phase(run: Run, seconds: float) -> None:
    pids = [p.pid for _, p in run.workers.alive()]
    before = [cpu_seconds(pid) for pid in pids]
    held = await holdings(run.workers)
    await asyncio.sleep(seconds)
    after = [cpu_seconds(pid) for pid in pids]
    for i, pid in enumerate(pids):
        cores = (after[i] - before[i]) / seconds
        per_site = cores / max(held[i], 1) * 1e6
        print(
            f"steady: worker {i}: {held[i]} sites, {cores:.2f} cores, "
            f"{per_site:.0f} µs CPU per site-second, RSS {rss_mb(pid):.0f} MB"
        )
    print(f"  load average {load_average()}")


async def failover_phase(run: Run) -> None:
    _, victim = run.workers.alive()[0]
    lost = (await holdings(run.workers))[0]
    since = await db_now(run.url)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    started = time.monotonic()
    held = await until(Check(run, "held"), "the others hold every site")
    up = await until(Check(run, "answering", since=since), "every site answering again")
    took = None if up is None else time.monotonic() - started
    downs = await downs_since(run.url, since)
    print(
        f"failover: SIGKILL of a worker holding {lost} sites; the others held them all after "
        f"{fmt(held)}; every site had answered the new worker {fmt(took)} after the kill; "
        f"downs meanwhile: {len(downs)} {downs[:5]}"
    )


async def rebalance_phase(run: Run) -> None:
    since = await db_now(run.url)
    started = time.monotonic()
    await run.workers.start()
    # The others keep their fair share: the newest worker's is what is left.
    alive = len(run.workers.alive())
    share = len(run.codes) - (alive - 1) * fair_share(len(run.codes), alive)
    joined = await until(Check(run, "joined", share), "the new worker holds its share")
    took = None if joined is None else time.monotonic() - started
    up = await until(Check(run, "answering", since=await db_now(run.url)), "all answer again")
    downs = await downs_since(run.url, since)
    print(
        f"rebalance: a worker joined; it held its share ({share}) {fmt(took)} after it was "
        f"started; every site answering {fmt(up)} later; sites per worker "
        f"{await holdings(run.workers)}; downs meanwhile: {len(downs)} {downs[:5]}"
    )


async def stop_phase(run: Run) -> None:
    _, worker = run.workers.alive()[-1]
    held = (await holdings(run.workers))[-1]
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.to_thread(worker.wait, 60)
        took = f"exited with {code} after {time.monotonic() - started:.1f} s"
    except subprocess.TimeoutExpired:
        took = "still running after 60 s"
    taken = await until(Check(run, "held"), "the other worker holds every site")
    print(
        f"stop: SIGTERM to a worker holding {held} sites: {took}; the other held every site "
        f"{fmt(taken)} after that"
    )


async def db_now(url: str) -> datetime:
    async with open_database(url) as sessionmaker, sessionmaker() as session:
        now: datetime | None = await session.scalar(select(func.now()))
    assert now is not None
    return now


async def main(args: argparse.Namespace) -> None:
    cores = os.cpu_count()
    print(
        f"scale-out benchmark: {args.sites} sites, {args.workers} workers, {cores} cores, "
        f"heartbeat every {args.heartbeat} s"
    )
    async with database() as url:
        plan = await prepare(url, args.sites, 0)
        with tempfile.TemporaryDirectory(prefix="bw-scale-") as tmp:
            folder = Path(tmp)
            with agent_processes(plan, folder, PHASE_SECONDS * 6), contextlib.ExitStack() as stack:
                workers = WorkerProcesses(url, folder, args.heartbeat)
                stack.enter_context(workers.stack)
                run = Run(url, plan.codes, workers)
                await start_phase(run, args.workers)
                await steady_phase(run, args.seconds)
                if args.workers > 1:
                    await failover_phase(run)
                await rebalance_phase(run)
                await stop_phase(run)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out")
    parser.add_argument("--sites", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0, help="steady window")
    parser.add_argument("--heartbeat", type=float, default=1.0, help="seconds between pings")
    asyncio.run(main(parser.parse_args()))
