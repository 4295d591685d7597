"""The delegates present, as agents report them: a new row in `attendance` only when a site's
agent reports a value it has not reported before, so an operator's later correction stays the
latest until the technician types a new number (an agent repeats its value in every report).

Compared with the site's last *agent* row in the database, read once per site: a restarted or
new worker (scale-out) does not log a repeated value again.
"""

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.attendance import Attendance, AttendanceSource
from monitor.probe.events import SampleTaken


class AttendanceLog:
    def __init__(self) -> None:
        self._last: dict[int, int | None] = {}  # site id -> its agent's last logged value

    async def new_rows(
        self, session: AsyncSession, samples: list[SampleTaken]
    ) -> list[dict[str, Any]]:
        """Rows to insert for the batch's samples (the last report of each site counts)."""
        reported: dict[int, dict[str, Any]] = {}
        for sample in samples:
            present = (sample.report or {}).get("attendance")
            if isinstance(present, int):
                version = str((sample.report or {}).get("version") or "agent")[:100]
                reported[sample.site_id] = {
                    "site_id": sample.site_id,
                    "at": sample.at,
                    "present": present,
                    "source": AttendanceSource.AGENT,
                    "by": version,
                }
        await self._load([site for site in reported if site not in self._last], session)
        return [row for site, row in reported.items() if self._last.get(site) != row["present"]]

    def written(self, rows: list[dict[str, Any]]) -> None:
        """After the commit: these values are logged."""
        for row in rows:
            self._last[row["site_id"]] = row["present"]

    async def _load(self, site_ids: list[int], session: AsyncSession) -> None:
        if not site_ids:
            return
        agent = and_(Attendance.site_id.in_(site_ids), Attendance.source == AttendanceSource.AGENT)
        latest = (
            select(Attendance.site_id, func.max(Attendance.at).label("at"))
            .where(agent)
            .group_by(Attendance.site_id)
            .subquery()
        )
        rows = await session.execute(
            select(Attendance.site_id, Attendance.present)
            .join(
                latest, and_(Attendance.site_id == latest.c.site_id, Attendance.at == latest.c.at)
            )
            .where(agent)
        )
        self._last.update(dict.fromkeys(site_ids))
        self._last.update({site_id: present for site_id, present in rows.all()})
