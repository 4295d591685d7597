"""Per-minute rollups of the samples: the long history (RTT, loss, MOS, up ratio by minute).

The recorder refreshes the rollup of every (site, minute) a batch of samples touched, in the
batch's transaction, from the raw samples of that minute: a rollup is a function of its raw
samples, so a batch written again, a late sample or two workers writing one site while it is
handed over all end in the same row. The retention task deletes rollups after a year
(`rollup_retention_days`) as it deletes raw samples after `sample_retention_days`.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from sqlalchemy import delete, select
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


def summed_up(
    site_id: int, minute: datetime, samples: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The rollup row of one site's samples in one minute."""

    def present(name: str) -> list[float]:
        return [value for s in samples if (value := s[name]) is not None]

    rtts, p95s, losses, scores = (
        present(name) for name in ("rtt_median_seconds", "rtt_p95_seconds", "loss_ratio", "mos")
    )
    return {
        "site_id": site_id,
        "minute": minute,
        "windows": len(samples),
        "reachable_windows": sum(1 for s in samples if s["reachable"]),
        "rtt_median_seconds": fmean(rtts) if rtts else None,
        "rtt_p95_seconds": max(p95s, default=None),
        "loss_ratio": fmean(losses) if losses else None,
        "mos": fmean(scores) if scores else None,
        "mos_min": min(scores, default=None),
    }


async def recount(
    session: AsyncSession,
    written: Iterable[tuple[int, datetime]],
    pending: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The rollup rows of the minutes in which samples (site id, time) were written or are
    `pending` (sample rows this transaction is about to insert).

    With `pending`, it reads before the transaction's first write: SQLite has one writer at a
    time, and a write transaction that also reads holds everyone else up for longer."""
    touched = {(site_id, minute_of(at)) for site_id, at in written}
    touched |= {(row["site_id"], minute_of(row["at"])) for row in pending}
    if not touched:
        return []
    first = min(minute for _, minute in touched)
    last = max(minute for _, minute in touched) + MINUTE
    rows = await session.execute(
        select(
            Sample.site_id,
            Sample.at,
            Sample.reachable,
            Sample.rtt_median_seconds,
            Sample.rtt_p95_seconds,
            Sample.loss_ratio,
            Sample.mos,
        ).where(
            Sample.site_id.in_(sorted({site_id for site_id, _ in touched})),
            Sample.at >= first,
            Sample.at < last,
        )
    )
    by_minute: dict[tuple[int, datetime], list[Mapping[str, Any]]] = defaultdict(list)
    for row in [*rows.mappings(), *pending]:
        key = (row["site_id"], minute_of(row["at"]))
        if key in touched:
            by_minute[key].append(row)
    # In key order: two writers of the same rows lock them in the same order (no deadlock).
    return [summed_up(*key, samples) for key, samples in sorted(by_minute.items())]


async def save(session: AsyncSession, values: list[dict[str, Any]]) -> int:
    """Write rollup rows (from `recount`); returns how many."""
    if values:
        await session.execute(_upsert(session), values)
    return len(values)


async def refresh(session: AsyncSession, written: Iterable[tuple[int, datetime]]) -> int:
    """Recompute the rollups of the minutes in which samples were written; returns how many
    rows were written."""
    return await save(session, await recount(session, written))


def _upsert(session: AsyncSession) -> Any:
    """INSERT … ON CONFLICT (site_id, minute) DO UPDATE, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SampleRollup)
    return statement.on_conflict_do_update(
        index_elements=[SampleRollup.site_id, SampleRollup.minute],
        set_={name: statement.excluded[name] for name in FIGURES},
    )


async def prune(sessionmaker: SessionMaker, before: datetime) -> int:
    """Delete rollups of minutes before `before`."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(delete(SampleRollup).where(SampleRollup.minute < before))
    return int(getattr(result, "rowcount", 0) or 0)
