"""Open incidents in `/metrics`, by kind, zero included:

    bridgewatch_incidents_open{kind="site"} 12
    bridgewatch_incidents_open{kind="group"} 1         # a district's link, its communes attached
    bridgewatch_incidents_open{kind="monitor_link"} 0  # the monitor's own link

From the database, where grouping decides them (in scale-out, for every worker's sites), so the
API process serves them. While `monitor_link` is 1 the sites counted down are not observable:
the shipped alert BridgeWatchMonitorLinkDown fires and Alertmanager mutes every site alert.
"""

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from app.database_figures import DatabaseFigures
from models.db import SessionMaker
from models.incident import Incident, IncidentKind


class IncidentFigures(DatabaseFigures[dict[IncidentKind, int]]):
    def __init__(self, sessionmaker: SessionMaker) -> None:
        super().__init__(sessionmaker, {})

    async def _read(self, now: datetime) -> dict[IncidentKind, int]:
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(Incident.kind, func.count())
                .where(Incident.closed_at.is_(None))
                .group_by(Incident.kind)
            )
            return {IncidentKind(kind): count for kind, count in rows}

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "bridgewatch_incidents_open",
            "Open incidents by kind: a site's own, a group (a district's link, its communes "
            "attached) and the monitor's own link (its sites not observable).",
            labels=["kind"],
        )
        for kind in IncidentKind:
            family.add_metric([kind.value], float(self._figures.get(kind, 0)))
        yield family
