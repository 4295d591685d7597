"""/api/v1/sites/{code}/attendance: the delegates present at a site. Its agent reports them (the
agent page, the agent program); an operator may enter or correct them here. The latest value
wins, whoever gave it, and says who did; the dashboard's live view counts an entry at once
(another API process of a scale-out set-up at its next reseed, within a minute)."""

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from app.deps import BusDep, Operator, SessionDep, Viewer
from app.queries import site_or_404
from app.schemas.attendance import AttendanceEntry, AttendancePublic
from app.schemas.common import EVERY_ROUTE, problems
from models.attendance import Attendance, AttendanceSource
from monitor.probe.events import AttendanceChanged

router = APIRouter(prefix="/sites", tags=["attendance"], responses=problems(*EVERY_ROUTE, 422))


def _public(code: str, row: Attendance) -> AttendancePublic:
    return AttendancePublic(
        site_code=code, present=row.present, source=row.source, by=row.by, at=row.at
    )


@router.put(
    "/{code}/attendance",
    summary="Enter the delegates present at a site (it becomes the latest value)",
    responses=problems(403, 404),
)
async def enter_attendance(
    code: str, body: AttendanceEntry, session: SessionDep, operator: Operator, bus: BusDep
) -> AttendancePublic:
    row = Attendance(
        site_id=(await site_or_404(session, code)).id,
        present=body.present,
        source=AttendanceSource.OPERATOR,
        by=operator.name[:100],
    )
    session.add(row)
    await session.commit()
    # Written already: to this process's live view, not to its recorder or fan-out.
    bus.publish(
        AttendanceChanged(row.site_id, code, row.present, row.source.value, row.by, row.at),
        written=True,
    )
    return _public(code, row)


@router.get(
    "/{code}/attendance",
    summary="The latest delegates present at a site, and who gave the number",
    responses=problems(404),
)
async def latest_attendance(code: str, session: SessionDep, _: Viewer) -> AttendancePublic:
    site_id = (await site_or_404(session, code)).id
    row = await session.scalar(
        select(Attendance)
        .where(Attendance.site_id == site_id)
        .order_by(Attendance.id.desc())
        .limit(1)
    )
    if row is None:
        raise HTTPException(404, f"no attendance reported for site '{code}'")
    return _public(code, row)
