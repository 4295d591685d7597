"""The conference's phase follows the clock: planned, pre-flight a set time before the start,
live at the start, ended at the end; an operator may start early, extend or end now, each
recorded with who and when. Switches by the clock are tested with a short schedule, not by
waiting an hour: the phase is a function of the schedule and the time."""

from datetime import UTC, datetime, timedelta

import httpx

from models.auth import Role
from models.conference import ConferencePhase, PhaseAction
from monitor.conference.phases import SCHEDULE, Schedule, phase_at, switches

Headers = dict[Role, dict[str, str]]
START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_the_clock_switches_the_phases() -> None:
    plan = Schedule(START, START + 3 * HOUR, preflight=HOUR)
    phases = [phase_at(plan, START + timedelta(minutes=m)) for m in (-61, -60, -1, 0, 179, 180)]
    assert phases == [
        ConferencePhase.PLANNED,
        ConferencePhase.PREFLIGHT,
        ConferencePhase.PREFLIGHT,
        ConferencePhase.LIVE,
        ConferencePhase.LIVE,
        ConferencePhase.ENDED,
    ]
    assert [(s.phase, s.at, s.by) for s in switches(plan, {})] == [
        (ConferencePhase.PREFLIGHT, START - HOUR, SCHEDULE),
        (ConferencePhase.LIVE, START, SCHEDULE),
        (ConferencePhase.ENDED, START + 3 * HOUR, SCHEDULE),
    ]


def test_an_operator_moves_the_switches_and_is_named() -> None:
    early = Schedule(START, START + HOUR, HOUR, started_at=START - timedelta(minutes=10))
    assert phase_at(early, START - timedelta(minutes=5)) is ConferencePhase.LIVE
    named = switches(early, {PhaseAction.START: "hall technician"})
    assert [(s.phase, s.by) for s in named] == [
        (ConferencePhase.PREFLIGHT, SCHEDULE),
        (ConferencePhase.LIVE, "hall technician"),
        (ConferencePhase.ENDED, SCHEDULE),
    ]
    # Ended during pre-flight: it never went live.
    called_off = Schedule(START, START + HOUR, HOUR, ended_at=START - timedelta(minutes=30))
    assert [s.phase for s in switches(called_off, {})] == [
        ConferencePhase.PREFLIGHT,
        ConferencePhase.ENDED,
    ]


async def test_start_early_extend_and_end_now(client: httpx.AsyncClient, auth: Headers) -> None:
    now = datetime.now(UTC)
    plan = {
        "title": "Hội nghị trực tuyến",
        "starts_at": (now + timedelta(minutes=30)).isoformat(),
        "ends_at": (now + 2 * HOUR).isoformat(),
        "sites": [{"site_code": "01267", "expected_delegates": 25}],
    }
    created = await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])
    url = created.headers["location"]
    assert created.json()["phase"] == "preflight"  # 60 minutes before the start by default
    ends_at = datetime.fromisoformat(created.json()["ends_at"])

    refused = await client.post(f"{url}/start", headers=auth[Role.VIEWER])
    assert refused.status_code == 403
    operator = auth[Role.OPERATOR]
    started = await client.post(f"{url}/start", headers=operator)
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["phase"] == "live"
    assert [(p["phase"], p["by"]) for p in body["phases"]][1] == ("live", "test-operator")
    again = await client.post(f"{url}/start", headers=operator)
    assert again.status_code == 409 and again.json()["detail"] == "the conference is already live"

    extended = await client.post(f"{url}/extend", json={"minutes": 45}, headers=operator)
    assert datetime.fromisoformat(extended.json()["ends_at"]) == ends_at + timedelta(minutes=45)
    for bad in ({"minutes": 0}, {"minutes": "soon"}, {}, {"minutes": 100_000}):
        response = await client.post(f"{url}/extend", json=bad, headers=operator)
        assert response.status_code == 422, (bad, response.text)

    ended = await client.post(f"{url}/end", headers=operator)
    body = ended.json()
    assert body["phase"] == "ended"
    assert [(a["action"], a["by"], a["minutes"]) for a in body["actions"]] == [
        ("start", "test-operator", None),
        ("extend", "test-operator", 45),
        ("end", "test-operator", None),
    ]
    for action in ("start", "extend", "end"):
        late = await client.post(f"{url}/{action}", json={"minutes": 5}, headers=operator)
        assert late.status_code == 409 and late.json()["detail"] == "the conference has ended"
    # The report's window is the live phase as it happened.
    report = (await client.get(f"{url}/report", headers=operator)).json()
    assert report["complete"] is True and report["phase"] == "ended"
    assert report["window_start"] == body["phases"][1]["at"]
    assert report["window_end"] == body["phases"][2]["at"]


async def test_a_planned_conference_cannot_be_ended_and_readiness_uses_its_minutes(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    now = datetime.now(UTC)
    plan = {
        "title": "Hội nghị tháng sau",
        "starts_at": (now + 24 * HOUR).isoformat(),
        "ends_at": (now + 26 * HOUR).isoformat(),
        "ready_minutes": 2,
        "sites": [{"site_code": "01267"}],
    }
    created = await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])
    url = created.headers["location"]
    ended = await client.post(f"{url}/end", headers=auth[Role.OPERATOR])
    assert ended.status_code == 409 and "has not begun" in ended.json()["detail"]
    assert [a for a in (await client.get(url, headers=auth[Role.VIEWER])).json()["actions"]] == []
    board = (await client.get(f"{url}/readiness", headers=auth[Role.VIEWER])).json()
    assert board["phase"] == "planned" and board["ready_after_minutes"] == 2
