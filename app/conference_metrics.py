"""Conferences in `/metrics`: for each conference in pre-flight or live, its phase, sites ready,
and delegates present and expected, in the shape an operator's Grafana panel expects:

    bridgewatch_conference_info{conference="12", title="..."} 1
    bridgewatch_conference_phase{conference="12", phase="live"} 1
    bridgewatch_conference_sites{conference="12", state="ready"} 169
    bridgewatch_conference_delegates{conference="12", kind="present"} 3012

Read from the database just before a scrape (a few queries per running conference).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from sqlalchemy import select

from app.database_figures import DatabaseFigures
from models.conference import Conference, ConferencePhase
from models.db import SessionMaker
from monitor.conference.attendance import roll_call
from monitor.conference.phases import phase_at, running_or_soon, schedule_of
from monitor.conference.readiness import readiness

RUNNING = (ConferencePhase.PREFLIGHT, ConferencePhase.LIVE)


@dataclass(frozen=True)
class Figures:
    conference: str
    title: str
    phase: ConferencePhase
    ready: int
    sites: int
    present: int
    expected: int
    sites_reported: int


class ConferenceFigures(DatabaseFigures[list[Figures]]):
    def __init__(self, sessionmaker: SessionMaker) -> None:
        super().__init__(sessionmaker, [])

    async def _read(self, now: datetime) -> list[Figures]:
        async with self._sessionmaker() as session:
            candidates = await session.scalars(
                select(Conference).where(running_or_soon(now)).order_by(Conference.id)
            )
            found = []
            for conference in candidates.all():
                phase = phase_at(schedule_of(conference), now)
                if phase not in RUNNING:
                    continue
                ready_after = timedelta(minutes=conference.ready_minutes)
                board = await readiness(session, conference, now, ready_after)
                present = await roll_call(session, conference, now)
                found.append(
                    Figures(
                        conference=str(conference.id),
                        title=conference.title,
                        phase=phase,
                        ready=sum(s.verdict.ready for s in board),
                        sites=len(board),
                        present=sum(s.present.present for s in present if s.present),
                        expected=sum(s.expected for s in present),
                        sites_reported=sum(s.present is not None for s in present),
                    )
                )
        return found

    def collect(self) -> Iterator[Metric]:
        info = InfoMetricFamily(
            "bridgewatch_conference", "A conference in pre-flight or live.", labels=["conference"]
        )
        phase = GaugeMetricFamily(
            "bridgewatch_conference_phase",
            "1 for the conference's current phase.",
            labels=["conference", "phase"],
        )
        sites = GaugeMetricFamily(
            "bridgewatch_conference_sites",
            "Participating sites: ready (up for the conference's ready minutes), not ready, "
            "and reporting delegates present.",
            labels=["conference", "state"],
        )
        delegates = GaugeMetricFamily(
            "bridgewatch_conference_delegates",
            "Delegates present (as last reported) and expected.",
            labels=["conference", "kind"],
        )
        for f in self._figures:
            info.add_metric([f.conference], {"title": f.title})
            for p in RUNNING:
                phase.add_metric([f.conference, p.value], 1.0 if p is f.phase else 0.0)
            sites.add_metric([f.conference, "ready"], f.ready)
            sites.add_metric([f.conference, "not_ready"], f.sites - f.ready)
            sites.add_metric([f.conference, "reporting_attendance"], f.sites_reported)
            delegates.add_metric([f.conference, "present"], f.present)
            delegates.add_metric([f.conference, "expected"], f.expected)
        yield from (info, phase, sites, delegates)
