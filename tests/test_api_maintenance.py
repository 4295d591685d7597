"""Maintenance windows through the API: planned by operators, read by viewers, applied to a site
or a whole district, and every mistake refused with a problem body and nothing saved."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.maintenance import MaintenanceWindow

Headers = dict[Role, dict[str, str]]
URL = "/api/v1/maintenance"


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def test_a_district_window_covers_its_communes_and_is_cancelled(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    now = utcnow()
    operator, viewer = auth[Role.OPERATOR], auth[Role.VIEWER]
    body = {
        "site": "040",
        "subtree": True,
        "starts_at": iso(now - timedelta(minutes=5)),
        "ends_at": iso(now + timedelta(hours=1)),
        "note": "Thay cáp quang huyện",
    }
    refused = await client.post(URL, json=body, headers=viewer)
    assert refused.status_code == 403
    made = await client.post(URL, json=body, headers=operator)
    assert made.status_code == 201, made.text
    window = made.json()
    assert made.headers["Location"] == f"{URL}/{window['id']}"
    assert (window["site_code"], window["created_by"], window["on_now"]) == (
        "040",
        "test-operator",
        True,
    )
    assert window["duration_seconds"] == 3900 and window["rrule"] is None
    commune = (await client.get("/api/v1/sites/01267/maintenance", headers=viewer)).json()
    assert commune["in_maintenance"] is True and commune["note"] == "Thay cáp quang huyện"
    assert commune["until"] == window["ends_at"] and [w["id"] for w in commune["windows"]] == [
        window["id"]
    ]
    elsewhere = (await client.get("/api/v1/sites/042/maintenance", headers=viewer)).json()
    assert elsewhere == {
        "site_code": "042",
        "in_maintenance": False,
        "until": None,
        "note": None,
        "windows": [],
    }
    listed = (await client.get(URL, params={"site": "040"}, headers=viewer)).json()
    assert listed["total"] == 1 and listed["items"][0] == (
        await client.get(f"{URL}/{window['id']}", headers=viewer)
    ).json() | {"next": listed["items"][0]["next"]}
    assert (await client.delete(f"{URL}/{window['id']}", headers=viewer)).status_code == 403
    assert (await client.delete(f"{URL}/{window['id']}", headers=operator)).status_code == 204
    assert (await client.get(f"{URL}/{window['id']}", headers=viewer)).status_code == 404
    after = (await client.get("/api/v1/sites/01267/maintenance", headers=viewer)).json()
    assert after["in_maintenance"] is False and after["windows"] == []


async def test_a_weekly_window_tells_its_next_occurrence_and_overlaps_are_allowed(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    operator = auth[Role.OPERATOR]
    weekly = {
        "site": "01267",
        "starts_at": "2026-01-04T22:00:00+07:00",  # a Sunday
        "rrule": "FREQ=WEEKLY;BYDAY=SU",
        "duration_minutes": 120,
        "note": "Bảo trì định kỳ",
    }
    made = await client.post(URL, json=weekly, headers=operator)
    assert made.status_code == 201, made.text
    window = made.json()
    assert window["ends_at"] is None and window["next"] is not None
    start = datetime.fromisoformat(window["next"]["start"])
    local = start.astimezone(datetime.fromisoformat("2026-01-04T22:00:00+07:00").tzinfo)
    assert (local.weekday(), local.hour) == (6, 22)
    assert datetime.fromisoformat(window["next"]["end"]) - start == timedelta(hours=2)
    again = await client.post(URL, json=weekly, headers=operator)
    assert again.status_code == 201  # overlapping windows are allowed
    mine = (await client.get("/api/v1/sites/01267/maintenance", headers=operator)).json()
    assert len(mine["windows"]) == 2


def _past(**changes: Any) -> dict[str, Any]:
    base = {
        "site": "01267",
        "starts_at": "2026-12-06T22:00:00+07:00",
        "ends_at": "2026-12-06T23:00:00+07:00",
    }
    return {key: value for key, value in (base | changes).items() if value is not None}


BAD_BODIES = [
    (_past(ends_at="2026-12-06T21:00:00+07:00"), "end after it starts"),
    (_past(ends_at="2026-12-06T22:00:00+07:00"), "end after it starts"),
    (_past(ends_at="2027-03-01T22:00:00+07:00"), "at most 31 days"),
    (_past(ends_at=None), "one-off window needs an end"),
    (_past(duration_minutes=30), "one-off window needs"),
    (_past(ends_at=None, rrule="FREQ=WEEKLY"), "recurring window needs a duration"),
    (_past(rrule="FREQ=WEEKLY", duration_minutes=30), "needs a duration (and no end)"),
    (_past(ends_at=None, rrule="FREQ=WEEKLY;BYDAY=XX", duration_minutes=30), "not parse"),
    (_past(ends_at=None, rrule="WEEKLY", duration_minutes=30), "FREQ"),
    (_past(ends_at=None, rrule="FREQ=SECONDLY", duration_minutes=30), "FREQ"),
    (_past(ends_at=None, rrule="FREQ=DAILY", duration_minutes=0), "greater than or equal"),
    (_past(ends_at=None, rrule="FREQ=DAILY", duration_minutes=-60), "greater than or equal"),
    (_past(ends_at=None, rrule="FREQ=DAILY", duration_minutes=10**9), "less than or equal"),
    (_past(time_zone="Asia/Hà_Nội"), "time zone"),
    (_past(site="99999"), "no site with code '99999'"),
    (_past(site="bad code!"), "site"),
    (_past(starts_at="2026-12-06T22:00:00"), "timezone"),
    (_past(starts_at="tomorrow"), "starts_at"),
    (_past(owner="me"), "owner"),
    (_past(note="x" * 501), "note"),
]


@pytest.mark.parametrize(("body", "why"), BAD_BODIES)
async def test_bad_windows_are_refused_with_a_reason_and_nothing_is_saved(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker, body: dict[str, Any], why: str
) -> None:
    refused = await client.post(URL, json=body, headers=auth[Role.OPERATOR])
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert why in refused.json()["detail"]
    async with seeded() as session:
        assert await session.scalar(select(func.count()).select_from(MaintenanceWindow)) == 0


async def test_bad_reads_and_deletes_say_what_is_wrong(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    operator = auth[Role.OPERATOR]
    assert (await client.get(f"{URL}/999999", headers=operator)).status_code == 404
    assert (await client.delete(f"{URL}/999999", headers=operator)).status_code == 404
    assert (await client.get(f"{URL}/0", headers=operator)).status_code == 422
    assert (await client.delete(f"{URL}/abc", headers=operator)).status_code == 422
    unknown = await client.get("/api/v1/sites/99999/maintenance", headers=operator)
    assert unknown.status_code == 404 and "99999" in unknown.json()["detail"]
    assert (await client.get(URL, params={"limit": 0}, headers=operator)).status_code == 422
    assert (await client.get(URL)).status_code == 401
    broken = await client.post(
        URL, content=b"{", headers=operator | {"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["detail"]
    assert (await client.get(URL, params={"past": "maybe"}, headers=operator)).status_code == 422


async def test_past_windows_are_listed_only_when_asked(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    operator = auth[Role.OPERATOR]
    made = await client.post(
        URL,
        json=_past(starts_at="2025-01-01T08:00:00Z", ends_at="2025-01-01T09:00:00Z"),
        headers=operator,
    )
    assert made.status_code == 201 and made.json()["next"] is None
    assert (await client.get(URL, headers=operator)).json()["total"] == 0
    everything = (await client.get(URL, params={"past": "true"}, headers=operator)).json()
    assert everything["total"] == 1
    ends_at = datetime.fromisoformat(everything["items"][0]["ends_at"])
    assert ends_at == datetime(2025, 1, 1, 9, tzinfo=UTC)
