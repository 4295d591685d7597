"""A conference's phase, from its schedule and what operators did: planned, then pre-flight a
set time before the start (technicians on site, test session), live from the start, ended at
the end. An operator may start early, extend or end now; each of those is a recorded action,
and the clock's switches follow from the schedule, so the phase needs no timer to be right and
every process computes the same.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_

from models.conference import Conference, ConferencePhase, PhaseAction

SCHEDULE = "schedule"  # who switched a phase that the clock switched


@dataclass(frozen=True)
class Schedule:
    starts_at: datetime
    ends_at: datetime  # extensions included
    preflight: timedelta
    started_at: datetime | None = None  # started early by an operator
    ended_at: datetime | None = None  # ended early by an operator

    @property
    def live_from(self) -> datetime:
        return self.started_at or self.starts_at

    @property
    def live_until(self) -> datetime:
        return self.ended_at or self.ends_at

    @property
    def preflight_from(self) -> datetime:
        return _before(self.live_from, self.preflight)


def _before(at: datetime, span: timedelta) -> datetime:
    """`at - span`, no earlier than the first representable time (a start in year 1 is valid)."""
    earliest = datetime.min.replace(tzinfo=at.tzinfo)
    return at - min(span, at - earliest)


def schedule_of(conference: Conference) -> Schedule:
    return Schedule(
        starts_at=conference.starts_at,
        ends_at=conference.ends_at,
        preflight=timedelta(minutes=conference.preflight_minutes),
        started_at=conference.started_at,
        ended_at=conference.ended_at,
    )


def running_or_soon(now: datetime) -> ColumnElement[bool]:
    """SQL: the conferences that may be in pre-flight or live at `now` (not ended; starting
    within a day, the longest pre-flight, or started early): `phase_at` tells which."""
    return (func.coalesce(Conference.ended_at, Conference.ends_at) > now) & or_(
        Conference.starts_at <= now + timedelta(days=1), Conference.started_at.is_not(None)
    )


def phase_at(schedule: Schedule, now: datetime) -> ConferencePhase:
    if now >= schedule.live_until:
        return ConferencePhase.ENDED
    if now >= schedule.live_from:
        return ConferencePhase.LIVE
    if now >= schedule.preflight_from:
        return ConferencePhase.PREFLIGHT
    return ConferencePhase.PLANNED


@dataclass(frozen=True)
class Switch:
    phase: ConferencePhase
    at: datetime
    by: str  # the operator's token name, or SCHEDULE


def switches(schedule: Schedule, actors: dict[PhaseAction, str]) -> list[Switch]:
    """When each phase begins (past or planned) and who switched it; `actors` names who took
    the START and END actions, if anyone did. A phase skipped (an early start, an end in
    pre-flight) is left out."""
    preflight_at = _before(schedule.starts_at, schedule.preflight)
    end = Switch(ConferencePhase.ENDED, schedule.live_until, actors.get(PhaseAction.END, SCHEDULE))
    before = [
        Switch(ConferencePhase.PREFLIGHT, preflight_at, SCHEDULE),
        Switch(ConferencePhase.LIVE, schedule.live_from, actors.get(PhaseAction.START, SCHEDULE)),
    ]
    if schedule.started_at is not None and schedule.started_at <= preflight_at:
        before.pop(0)
    return [s for s in before if s.at < end.at] + [end]


class PhaseError(ValueError):
    """An action that the conference's phase does not allow; the message says why."""


def check_action(action: PhaseAction, phase: ConferencePhase) -> None:
    if phase is ConferencePhase.ENDED:
        raise PhaseError("the conference has ended")
    if action is PhaseAction.START and phase is ConferencePhase.LIVE:
        raise PhaseError("the conference is already live")
    if action is PhaseAction.END and phase is ConferencePhase.PLANNED:
        raise PhaseError("the conference has not begun: change its times or delete it")


def act(
    conference: Conference, action: PhaseAction, now: datetime, minutes: int | None = None
) -> None:
    """Apply an operator's action to the conference's schedule, or raise PhaseError."""
    check_action(action, phase_at(schedule_of(conference), now))
    if action is PhaseAction.START:
        conference.started_at = now
    elif action is PhaseAction.END:
        conference.ended_at = now
    else:
        try:
            conference.ends_at += timedelta(minutes=minutes or 0)
        except OverflowError:
            raise PhaseError("the end would pass the last time that can be stored") from None
