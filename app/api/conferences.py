"""/api/v1/conferences: scheduled events and the sites (with delegates) that take part."""

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.conference_attendance import roll_up
from app.conference_readiness import board
from app.conference_report import as_csv, public
from app.deps import Admin, Operator, SessionDep, Viewer
from app.schemas.attendance import ConferenceAttendance
from app.schemas.common import EVERY_ROUTE, Id, Offset, Page, problems
from app.schemas.conferences import (
    ActionPublic,
    ConferenceCreate,
    ConferencePublic,
    ConferenceReadiness,
    ConferenceReport,
    ConferenceUpdate,
    Extension,
    Participant,
    ParticipantPublic,
    PhaseSwitch,
)
from models.base import utcnow
from models.conference import Conference, ConferenceAction, ConferenceSite, PhaseAction
from models.site import Site
from monitor.conference.attendance import roll_call
from monitor.conference.phases import PhaseError, act, phase_at, schedule_of, switches
from monitor.conference.readiness import readiness
from monitor.conference.report import build_report

router = APIRouter(
    prefix="/conferences", tags=["conferences"], responses=problems(*EVERY_ROUTE, 422)
)


def _public(conference: Conference) -> ConferencePublic:
    schedule = schedule_of(conference)
    actors: dict[PhaseAction, str] = {
        a.action: a.by for a in conference.actions if a.action is not PhaseAction.EXTEND
    }
    sites = [
        ParticipantPublic(
            site_code=p.site.code, site_name=p.site.name, expected_delegates=p.expected_delegates
        )
        for p in conference.participants
    ]
    return ConferencePublic(
        id=conference.id,
        title=conference.title,
        description=conference.description,
        starts_at=conference.starts_at,
        ends_at=conference.ends_at,
        time_zone=conference.time_zone,
        preflight_minutes=conference.preflight_minutes,
        thresholds=conference.thresholds,
        ready_minutes=conference.ready_minutes,
        phase=phase_at(schedule, utcnow()),
        phases=[PhaseSwitch(phase=s.phase, at=s.at, by=s.by) for s in switches(schedule, actors)],
        actions=[
            ActionPublic(action=a.action, at=a.at, by=a.by, minutes=a.minutes)
            for a in conference.actions
        ],
        expected_delegates=sum(p.expected_delegates for p in sites),
        sites=sites,
        created_at=conference.created_at,
        updated_at=conference.updated_at,
    )


async def _load(session: AsyncSession, conference_id: int) -> Conference:
    conference = await session.scalar(
        select(Conference)
        .where(Conference.id == conference_id)
        .options(
            selectinload(Conference.participants).selectinload(ConferenceSite.site),
            selectinload(Conference.actions),
        )
        .execution_options(populate_existing=True)
    )
    if conference is None:
        raise HTTPException(404, f"no conference with id {conference_id}")
    return conference


async def _participants(session: AsyncSession, wanted: list[Participant]) -> list[ConferenceSite]:
    codes = [p.site_code for p in wanted]
    ids = dict(
        (await session.execute(select(Site.code, Site.id).where(Site.code.in_(codes)))).all()
    )
    missing = [code for code in codes if code not in ids]
    if missing:
        raise HTTPException(422, f"unknown site codes: {', '.join(missing)}")
    return [
        ConferenceSite(site_id=ids[p.site_code], expected_delegates=p.expected_delegates)
        for p in wanted
    ]


@router.get("", summary="List conferences, newest first")
async def list_conferences(
    session: SessionDep,
    _: Viewer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[ConferencePublic]:
    total = await session.scalar(select(func.count()).select_from(Conference))
    conferences = await session.scalars(
        select(Conference)
        .options(
            selectinload(Conference.participants).selectinload(ConferenceSite.site),
            selectinload(Conference.actions),
        )
        .order_by(Conference.starts_at.desc(), Conference.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return Page[ConferencePublic](items=[_public(c) for c in conferences], total=total or 0)


@router.get("/{conference_id}", summary="One conference with its sites", responses=problems(404))
async def get_conference(conference_id: Id, session: SessionDep, _: Viewer) -> ConferencePublic:
    return _public(await _load(session, conference_id))


@router.post("", status_code=201, summary="Create a conference", responses=problems(403))
async def create_conference(
    body: ConferenceCreate, session: SessionDep, _: Admin, response: Response
) -> ConferencePublic:
    conference = Conference(
        **body.model_dump(exclude={"sites"}, exclude_none=True),
        participants=await _participants(session, body.sites),
    )
    session.add(conference)
    await session.commit()
    response.headers["Location"] = f"/api/v1/conferences/{conference.id}"
    return _public(await _load(session, conference.id))


@router.patch(
    "/{conference_id}",
    summary="Change a conference (and replace its sites)",
    responses=problems(403, 404),
)
async def update_conference(
    conference_id: Id, body: ConferenceUpdate, session: SessionDep, _: Admin
) -> ConferencePublic:
    conference = await _load(session, conference_id)
    starts_at = body.starts_at or conference.starts_at
    ends_at = body.ends_at or conference.ends_at
    if ends_at <= starts_at:
        raise HTTPException(422, "ends_at must be after starts_at")
    for field, value in body.model_dump(exclude={"sites"}, exclude_unset=True).items():
        setattr(conference, field, value)
    if body.sites is not None:
        conference.participants = await _participants(session, body.sites)
    await session.commit()
    return _public(await _load(session, conference_id))


@router.delete(
    "/{conference_id}",
    status_code=204,
    summary="Delete a conference",
    responses=problems(403, 404),
)
async def delete_conference(conference_id: Id, session: SessionDep, _: Admin) -> None:
    await session.delete(await _load(session, conference_id))
    await session.commit()


@router.get(
    "/{conference_id}/report",
    summary="What happened to each site during the conference (so far, while it runs)",
    response_model=ConferenceReport,
    responses={
        **problems(404),
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    },
)
async def conference_report(
    conference_id: Id,
    session: SessionDep,
    _: Viewer,
    report_format: Annotated[
        Literal["json", "csv"],
        Query(alias="format", description="csv: one row per site, UTF-8 with BOM for Excel."),
    ] = "json",
) -> ConferenceReport | Response:
    conference = await _load(session, conference_id)
    report = public(await build_report(session, conference, utcnow()))
    if report_format == "csv":
        filename = f"conference-{conference_id}-report.csv"
        return Response(
            as_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return report


@router.get(
    "/{conference_id}/readiness",
    summary="Which participating sites are ready (up for the last few minutes), and which not",
    responses=problems(404),
)
async def conference_readiness(
    conference_id: Id, session: SessionDep, _: Viewer
) -> ConferenceReadiness:
    conference = await _load(session, conference_id)
    now = utcnow()
    ready_after = timedelta(minutes=conference.ready_minutes)
    return board(conference, await readiness(session, conference, now, ready_after), now)


async def _switch(
    session: AsyncSession,
    conference_id: int,
    action: PhaseAction,
    by: str,
    minutes: int | None = None,
) -> ConferencePublic:
    conference = await _load(session, conference_id)
    now = utcnow()
    try:
        act(conference, action, now, minutes)
    except PhaseError as refused:
        raise HTTPException(409, str(refused)) from None
    session.add(
        ConferenceAction(conference_id=conference_id, action=action, at=now, by=by, minutes=minutes)
    )
    await session.commit()
    return _public(await _load(session, conference_id))


@router.post(
    "/{conference_id}/start",
    summary="Start now, before the planned start (recorded with who and when)",
    responses=problems(403, 404, 409),
)
async def start_conference(
    conference_id: Id, session: SessionDep, operator: Operator
) -> ConferencePublic:
    return await _switch(session, conference_id, PhaseAction.START, operator.name)


@router.post(
    "/{conference_id}/extend",
    summary="End later by some minutes (recorded with who and when)",
    responses=problems(403, 404, 409),
)
async def extend_conference(
    conference_id: Id, body: Extension, session: SessionDep, operator: Operator
) -> ConferencePublic:
    return await _switch(session, conference_id, PhaseAction.EXTEND, operator.name, body.minutes)


@router.post(
    "/{conference_id}/end",
    summary="End now, before the planned end (recorded with who and when)",
    responses=problems(403, 404, 409),
)
async def end_conference(
    conference_id: Id, session: SessionDep, operator: Operator
) -> ConferencePublic:
    return await _switch(session, conference_id, PhaseAction.END, operator.name)


@router.get(
    "/{conference_id}/attendance",
    summary="Delegates present against expected, per site, district and overall",
    responses=problems(404),
)
async def conference_attendance(
    conference_id: Id, session: SessionDep, _: Viewer
) -> ConferenceAttendance:
    conference = await _load(session, conference_id)
    now = utcnow()
    phase = phase_at(schedule_of(conference), now)
    return roll_up(conference.id, phase, await roll_call(session, conference, now))
