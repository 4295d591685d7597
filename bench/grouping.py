"""Benchmark: what the grouping step costs after each recorder batch, on PostgreSQL, with the
national topology (3,321 communes under 34 provinces), every commune probed.

    .venv/bin/python -m bench.grouping [--runs 200]

Times `GroupStore.regroup`: a quiet batch (nothing changed: only the stragglers' query), the
batch in which a province's communes are all down (its group opens), and the one in which every
commune is down while the reference does not answer (the monitor-link incident opens).
"""

import argparse
import asyncio
import statistics
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from models.base import utcnow
from models.db import SessionMaker, open_database
from models.incident import Incident, IncidentKind
from models.site import Site, SiteLevel, SiteStatus
from models.topology.builtin import seed_if_empty
from monitor.probe.group_store import GroupStore
from monitor.probe.grouping import Rule
from tests.databases import PostgresDatabases
from tests.service import free_port

RULE = Rule(fraction=0.5, window=timedelta(seconds=30))


async def measure(runs: int) -> None:
    databases = PostgresDatabases()
    await databases.start()
    try:
        async with databases.fresh() as url, open_database(url) as sessionmaker:
            await seed_if_empty(sessionmaker, "vietnam-2025")
            async with sessionmaker() as session:
                await session.execute(
                    update(Site)
                    .where(Site.level == SiteLevel.COMMUNE)
                    .values(probe_target="http://127.0.0.1:9/agent")
                )
                communes = (
                    await session.execute(
                        select(Site.id, Site.parent_id).where(Site.level == SiteLevel.COMMUNE)
                    )
                ).all()
                await session.commit()
            store = GroupStore(sessionmaker, RULE, [f"127.0.0.1:{free_port()}"])
            quiet = []
            for _ in range(runs):
                started = time.perf_counter()
                await store.regroup([], utcnow())
                quiet.append(time.perf_counter() - started)
            print(
                f"quiet batch: median {statistics.median(quiet) * 1000:.1f} ms, "
                f"p95 {statistics.quantiles(quiet, n=20)[-1] * 1000:.1f} ms ({runs} runs)"
            )

            by_parent: dict[int, list[int]] = {}
            for site_id, parent_id in communes:
                by_parent.setdefault(parent_id, []).append(site_id)
            province = max(by_parent.values(), key=len)
            await _down(sessionmaker, province)
            started = time.perf_counter()
            await GroupStore(sessionmaker, RULE).regroup(province, utcnow())
            print(
                f"a province's {len(province)} communes down, its group opened: "
                f"{(time.perf_counter() - started) * 1000:.0f} ms"
            )

            rest = [site_id for site_id, _ in communes if site_id not in set(province)]
            await _down(sessionmaker, rest)
            started = time.perf_counter()
            await store.regroup([site_id for site_id, _ in communes], utcnow())
            print(
                f"all {len(communes)} communes down, reference unreachable, monitor link "
                f"opened: {(time.perf_counter() - started) * 1000:.0f} ms"
            )
            async with sessionmaker() as session:
                links = await session.scalar(
                    select(func.count()).where(Incident.kind == IncidentKind.MONITOR_LINK)
                )
            print(f"monitor-link incidents: {links}")
    finally:
        await databases.stop()


async def _down(sessionmaker: SessionMaker, site_ids: list[int]) -> None:
    now = utcnow()
    async with sessionmaker() as session:
        session.add_all(
            Incident(site_id=site_id, severity=SiteStatus.DOWN, opened_at=now)
            for site_id in site_ids
        )
        await session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    asyncio.run(measure(parser.parse_args().runs))


if __name__ == "__main__":
    main()
