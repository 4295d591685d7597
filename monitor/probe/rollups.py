"""Per-minute rollups of the samples: the long history (RTT, loss, MOS, up ratio by minute).

The recorder refreshes the rollups of the minutes a batch of samples touched, in the batch's
transaction and in one statement after the samples' insert: the database sums the raw samples of
those minutes up (`INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`). A rollup is a function
of its raw samples, so a batch written again, a late sample or two workers writing one site
while it is handed over all end in the same row. Summed up in the database, the raw samples
never cross into Python: read back and summed here, they were ~3 % of the monitor's time at
1,000 sites (docs/BENCHMARKS.md). The retention task deletes rollups after a year
(`rollup_retention_days`) as it deletes raw samples after `sample_retention_days`.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models.db import SessionMaker
from models.history import Sample, SampleRollup

MINUTE = timedelta(minutes=1)
FIGURES = (
    "windows",
    "reachable_windows",
    "rtt_median_seconds",
    "rtt_p95_seconds",
    "loss_ratio",
    "mos",
    "mos_min",
)


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


async def refresh(session: AsyncSession, written: Iterable[tuple[int, datetime]]) -> int:
    """Recompute the rollups of the minutes in which samples (site id, time) were written: of
    those sites, every minute from the first written to the last. Returns how many rows were
    written."""
    written = list(written)
    if not written:
        return 0
    dialect = session.get_bind().dialect.name
    minute = _minute(dialect).label("minute")
    sums = (
        select(
            Sample.site_id,
            minute,
            func.count(),
            func.sum(case((Sample.reachable, 1), else_=0)),
            # AVG, MAX and MIN pass over NULLs: a window without answers has no RTT or MOS.
            func.avg(Sample.rtt_median_seconds),
            func.max(Sample.rtt_p95_seconds),
            func.avg(Sample.loss_ratio),
            func.avg(Sample.mos),
            func.min(Sample.mos),
        )
        .where(
            Sample.site_id.in_(sorted({site_id for site_id, _ in written})),
            Sample.at >= minute_of(min(at for _, at in written)),
            Sample.at < minute_of(max(at for _, at in written)) + MINUTE,
        )
        .group_by(Sample.site_id, minute)
        # In key order: two writers of the same rows lock them in the same order (no deadlock).
        .order_by(Sample.site_id, minute)
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SampleRollup).from_select(["site_id", "minute", *FIGURES], sums)
    upsert = statement.on_conflict_do_update(
        index_elements=[SampleRollup.site_id, SampleRollup.minute],
        set_={name: statement.excluded[name] for name in FIGURES},
    )
    result = await session.execute(upsert)
    return int(getattr(result, "rowcount", 0) or 0)


def _minute(dialect: str) -> Any:
    """The minute of a sample's time, in SQL, as the rollup's `minute` column stores it."""
    if dialect == "postgresql":
        return func.date_trunc("minute", Sample.at)
    # SQLite keeps times as text, 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): the minute is its first
    # 16 characters with the seconds set to zero, as SQLAlchemy writes `minute_of(at)`.
    return func.substr(Sample.at, 1, 16).concat(":00.000000")


async def prune(sessionmaker: SessionMaker, before: datetime) -> int:
    """Delete rollups of minutes before `before`."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(delete(SampleRollup).where(SampleRollup.minute < before))
    return int(getattr(result, "rowcount", 0) or 0)
