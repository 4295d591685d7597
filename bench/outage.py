"""Benchmark: database outages in scale-out, with the default timing (1 s heartbeats, 10 s
windows, 15 s leases).

    .venv/bin/python -m bench.outage [--sites 171] [--outage 30] [--cut 40]

A throwaway PostgreSQL database (on BRIDGEWATCH_TEST_POSTGRES_URL's server, which keeps running)
with N communes of the 2025 map pointed at real aiortc agents in other processes; an API process
(`serve` with its engine off) and two `bridgewatch worker`s, each logging in with a role of its
own. Reported:
  1. one worker cut off (its role set to NOLOGIN, its connections cut) for --cut seconds: how
     soon it stops probing, how soon the other holds every site, downs meanwhile (every agent
     stays alive: any down is false), how soon they share again once it is back;
  2. the whole database blocked (ALLOW_CONNECTIONS false, connections cut) for --outage seconds:
     what the API answers meanwhile, samples the workers could not keep (their recorders'
     dropped events), how soon after the database is back every site reads `up` in REST again,
     and downs.

It prints results and asserts nothing; the database, the roles and every process are removed.
"""

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bench.engine import agent_processes, prepare
from bench.scale_out import database, db_now, downs_since, worker_env
from models.db import open_database
from models.history import Sample
from models.site import Site
from tests.databases import block, cut_off, let_in, login_role, unblock
from tests.service import spawned

BRIDGEWATCH = str(Path(sys.executable).with_name("bridgewatch"))
PHASE_SECONDS = 300.0
AFTER_SECONDS = 60.0
API = {"BRIDGEWATCH_ENGINE": "false", "BRIDGEWATCH_ANONYMOUS_READ": "true"}
ANSWERING = ("up", "degraded")  # a loaded 2-core box may slow a few answers past 300 ms


async def until(check: Callable[[], Awaitable[bool]], what: str) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < PHASE_SECONDS:
        with contextlib.suppress(httpx.HTTPError):
            if await check():
                return time.monotonic() - started
        await asyncio.sleep(0.5)
    print(f"  not within {PHASE_SECONDS:.0f} s: {what}")
    return None


def fmt(seconds: float | None) -> str:
    return "not reached" if seconds is None else f"{seconds:.1f} s"


async def metric(base: str, name: str, label: str | None = None) -> float:
    """One value from a process's /metrics (summed over series, or the one labelled so)."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{base}/metrics")).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and (label is None or label in sample.labels.values()):
                total += sample.value
    return total


class Setup:
    def __init__(self, url: str, codes: list[str], api: str, workers: list[str]) -> None:
        self.url = url
        self.codes = codes
        self.api = api
        self.workers = workers

    async def probing(self, worker: int) -> int:
        return int(await metric(self.workers[worker], "bridgewatch_sites_monitored"))

    async def answering(self) -> int:
        """Sites that read up or degraded in REST (0 while the API cannot answer)."""
        async with httpx.AsyncClient(base_url=self.api, timeout=10) as client:
            listed = await client.get("/api/v1/sites", params={"limit": 10000})
        if listed.status_code != 200:
            return 0
        items = [s for s in listed.json()["items"] if s["code"] in self.codes]
        return sum(s["status"] in ANSWERING for s in items)

    async def rest_up(self) -> bool:
        return await self.answering() == len(self.codes)

    async def statuses(self) -> dict[str, int]:
        async with open_database(self.url) as sessionmaker, sessionmaker() as session:
            rows = await session.execute(
                select(Site.status, func.count())
                .where(Site.code.in_(self.codes))
                .group_by(Site.status)
            )
            return {str(status): count for status, count in rows}


async def cut_phase(setup: Setup, role: str, seconds: float) -> None:
    since = await db_now(setup.url)
    before = [await setup.probing(0), await setup.probing(1)]
    await cut_off(role)
    started = time.monotonic()
    stopped = await until(lambda: _probing_is(setup, 0, 0), "the cut-off worker stops probing")
    taken = await until(
        lambda: _probing_is(setup, 1, len(setup.codes)), "the other probes every site"
    )
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
    await let_in(role)
    back = time.monotonic()
    shared = await until(lambda: _both_probe(setup), "both workers probe sites again")
    up = await until(setup.rest_up, "every site answering in REST")
    downs = await downs_since(setup.url, since)
    print(
        f"worker cut off for {seconds:.0f} s (sites per worker before: {before}): it stopped "
        f"probing after {fmt(stopped)}; the other probed every site after {fmt(taken)}; "
        f"shared again {fmt(shared)} after it was let back in, every site answering in REST "
        f"{fmt(None if up is None else time.monotonic() - back)} after; downs: "
        f"{len(downs)} {downs[:5]}"
    )


async def _probing_is(setup: Setup, worker: int, count: int) -> bool:
    return await setup.probing(worker) == count


async def _both_probe(setup: Setup) -> bool:
    counts = [await setup.probing(0), await setup.probing(1)]
    return min(counts) > 0 and sum(counts) == len(setup.codes)


async def outage_phase(setup: Setup, seconds: float) -> None:
    since = await db_now(setup.url)
    await block(setup.url)
    started = time.monotonic()
    await asyncio.sleep(seconds / 2)
    async with httpx.AsyncClient(base_url=setup.api, timeout=30) as client:
        during = await client.get("/api/v1/sites")
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
    await unblock(setup.url)
    back = time.monotonic()
    fewest, settled = await watch_answering(setup, AFTER_SECONDS)
    dropped = sum(
        [await metric(w, "bridgewatch_dropped_events_total", "recorder") for w in setup.workers]
    )
    backlog = sum([await metric(w, "bridgewatch_recorder_queue_events") for w in setup.workers])
    downs = await downs_since(setup.url, since)
    windows = await _windows(setup.url, since, back)
    print(
        f"database blocked for {seconds:.0f} s: the API answered {during.status_code} "
        f"({during.headers.get('content-type')}) meanwhile. Watched {AFTER_SECONDS:.0f} s after "
        f"it was back: at worst {fewest} of {len(setup.codes)} sites read up or degraded in "
        f"REST; every one did from {fmt(settled)} after it was back on. Windows measured while "
        f"the database was out, written once it was back: {windows}; recorders' events "
        f"dropped {dropped:.0f}, still queued {backlog:.0f}; downs: {len(downs)} {downs[:5]}"
    )


async def watch_answering(setup: Setup, seconds: float) -> tuple[int, float | None]:
    """The fewest sites answering in REST over `seconds`, and since when all have been."""
    started = time.monotonic()
    fewest = len(setup.codes)
    settled: float | None = 0.0
    while time.monotonic() - started < seconds:
        count = await setup.answering()
        fewest = min(fewest, count)
        if count < len(setup.codes):
            settled = None
        elif settled is None:
            settled = time.monotonic() - started
        await asyncio.sleep(0.5)
    return fewest, settled


async def _windows(url: str, since: datetime, back: float) -> int:
    """Samples whose window closed while the database was out (written after it was back)."""
    out_for = time.monotonic() - back
    async with open_database(url) as sessionmaker, sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Sample)
            .where(Sample.at >= since, Sample.at < func.now() - timedelta(seconds=out_for))
        )
    return count or 0


async def _samples(url: str, since: datetime) -> int:
    async with open_database(url) as sessionmaker, sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Sample).where(Sample.at >= since)
        )
    return count or 0


@contextlib.asynccontextmanager
async def processes(url: str, folder: Path) -> AsyncIterator[tuple[str, list[str], str]]:
    """The API process and two workers, the first with a role that can be cut off."""
    async with login_role(url) as (role_a, url_a), login_role(url) as (_, url_b):
        with contextlib.ExitStack() as stack:
            started = []
            for name, env in (
                ("api", {**worker_env(url, 1.0), **API}),
                ("a", worker_env(url_a, 1.0)),
                ("b", worker_env(url_b, 1.0)),
            ):
                (folder / name).mkdir()
                command = [BRIDGEWATCH, "serve" if name == "api" else "worker"]
                base, _ = await asyncio.to_thread(
                    stack.enter_context, spawned(command, env, folder / name)
                )
                started.append(base)
            yield started[0], started[1:], role_a


async def main(args: argparse.Namespace) -> None:
    print(
        f"outage benchmark: {args.sites} sites, 2 workers and an API process, "
        f"{os.cpu_count()} cores, default timing"
    )
    async with database() as url:
        plan = await prepare(url, args.sites, 0)
        with tempfile.TemporaryDirectory(prefix="bw-outage-") as tmp:
            folder = Path(tmp)
            with agent_processes(plan, folder, PHASE_SECONDS * 6):
                async with processes(url, folder) as (api, workers, role_a):
                    setup = Setup(url, plan.codes, api, workers)
                    first = await until(setup.rest_up, "every site answering")
                    print(
                        f"start: every site answering in REST after {fmt(first)}; "
                        f"statuses {await setup.statuses()}"
                    )
                    await cut_phase(setup, role_a, args.cut)
                    await outage_phase(setup, args.outage)
                    print(f"end: statuses {await setup.statuses()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.outage")
    parser.add_argument("--sites", type=int, default=171)
    parser.add_argument("--outage", type=float, default=30.0, help="seconds the database is out")
    parser.add_argument("--cut", type=float, default=40.0, help="seconds one worker is cut off")
    asyncio.run(main(parser.parse_args()))
