"""Bad input at the API's edges: numbers past the database's columns, NUL and control
characters, dates no database or `datetime` can hold.

Each is refused with a problem that says what is wrong, on SQLite and PostgreSQL alike, and
none of them reaches the log as an error (it used to be a 500 with two tracebacks).
"""

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.main import create_app
from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.incident import Incident
from models.settings import Settings
from models.site import Site, SiteStatus

Headers = dict[Role, dict[str, str]]
PROBLEM_JSON = "application/problem+json"
LARGEST_ID = 2147483647  # PostgreSQL INTEGER, the type of every id column
PAST_THE_IDS = ["2147483648", "18446744073709551616", "3971345680761677152256"]
NEW_SITE = {"code": "T1", "name": "Xã Thử Nghiệm", "level": "commune", "parent_code": "051"}
PLAN = {
    "title": "Hội nghị trực tuyến tỉnh Cao Bằng",
    "starts_at": "2026-12-01T08:00:00+07:00",
    "ends_at": "2026-12-01T11:30:00+07:00",
}


def assert_problem(response: httpx.Response, status: int, *parts: str) -> None:
    """`status` as application/problem+json whose `detail` holds every one of `parts`."""
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"] == PROBLEM_JSON
    detail = response.json()["detail"]
    for part in parts:
        assert part in detail, (response.request.url, detail)


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test if anything was logged as an error (an unhandled exception is)."""
    caplog.set_level(logging.ERROR)
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


async def _incident(sessionmaker: SessionMaker) -> int:
    async with sessionmaker() as session:
        site_id = await session.scalar(select(Site.id).where(Site.code == "01267"))
        assert site_id is not None
        incident = Incident(site_id=site_id, severity=SiteStatus.DOWN, opened_at=utcnow())
        session.add(incident)
        await session.commit()
        return incident.id


ID_ROUTES: list[tuple[str, str, dict[str, Any] | None, str, str]] = [
    ("GET", "/api/v1/incidents/{}", None, "incident_id", "no incident"),
    ("POST", "/api/v1/incidents/{}/ack", {"note": "đã gọi"}, "incident_id", "no incident"),
    ("GET", "/api/v1/conferences/{}", None, "conference_id", "no conference"),
    ("PATCH", "/api/v1/conferences/{}", {"title": "x"}, "conference_id", "no conference"),
    ("DELETE", "/api/v1/conferences/{}", None, "conference_id", "no conference"),
    ("GET", "/api/v1/conferences/{}/readiness", None, "conference_id", "no conference"),
    ("GET", "/api/v1/conferences/{}/report", None, "conference_id", "no conference"),
    ("POST", "/api/v1/conferences/{}/start", None, "conference_id", "no conference"),
    ("POST", "/api/v1/conferences/{}/extend", {"minutes": 30}, "conference_id", "no conference"),
    ("POST", "/api/v1/conferences/{}/end", None, "conference_id", "no conference"),
    ("DELETE", "/api/v1/tokens/{}", None, "token_id", "no token"),
]


@pytest.mark.usefixtures("no_errors_logged")
async def test_ids_past_the_database_range_are_refused(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    admin = auth[Role.ADMIN]
    for method, template, body, name, missing in ID_ROUTES:
        for value in PAST_THE_IDS:
            response = await client.request(
                method, template.format(value), json=body, headers=admin
            )
            assert_problem(response, 422, f"path.{name}", str(LARGEST_ID))
        for value in ("0", "-1"):
            response = await client.request(
                method, template.format(value), json=body, headers=admin
            )
            assert_problem(response, 422, f"path.{name}", "greater than or equal to 1")
        # The largest id the database holds is well-formed: it is simply not there.
        response = await client.request(
            method, template.format(LARGEST_ID), json=body, headers=admin
        )
        assert_problem(response, 404, missing, str(LARGEST_ID))


@pytest.mark.usefixtures("no_errors_logged")
async def test_an_agent_url_with_a_port_past_65535_is_refused(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    operator = auth[Role.OPERATOR]
    target = {"probe_target": "http://10.4.1.20:99999/01267"}
    response = await client.patch("/api/v1/sites/01267", json=target, headers=operator)
    assert_problem(response, 422, "body.probe_target", "Port out of range")
    response = await client.post("/api/v1/sites", json={**NEW_SITE, **target}, headers=operator)
    assert_problem(response, 422, "body.probe_target", "Port out of range")
    site = await client.get("/api/v1/sites/01267", headers=operator)
    assert site.json()["probe_target"] is None


@pytest.mark.usefixtures("no_errors_logged")
async def test_offsets_past_the_range_are_refused_on_every_list(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    viewer = auth[Role.VIEWER]
    for url in ("/api/v1/sites", "/api/v1/incidents", "/api/v1/conferences"):
        for offset in ("9223372036854775808", "18446744073709551616", str(LARGEST_ID + 1)):
            response = await client.get(url, params={"offset": offset}, headers=viewer)
            assert_problem(response, 422, "query.offset", str(LARGEST_ID))
        # The largest offset allowed is an empty page, not an error.
        last = await client.get(url, params={"offset": LARGEST_ID}, headers=viewer)
        assert last.status_code == 200 and last.json()["items"] == [], last.text


NUL_URLS = [
    ("GET", "/api/v1/sites?q=%00"),
    ("GET", "/api/v1/sites?q=hoa%00an&limit=5"),
    ("GET", "/api/v1/sites?parent=%00"),
    ("GET", "/api/v1/incidents?site=%00"),
    ("GET", "/api/v1/sites/%00"),
    ("GET", "/api/v1/sites/040%00/samples"),
    ("PATCH", "/api/v1/sites/%00"),
    ("DELETE", "/api/v1/sites/%00"),
    ("POST", "/api/v1/agents/%00/sessions"),
    ("DELETE", "/api/v1/agents/01267/sessions/%00"),
]


@pytest.mark.usefixtures("no_errors_logged")
async def test_nul_in_the_url_is_refused_before_routing_or_authentication(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    for headers in ({}, {"Authorization": "Bearer bws_whatever"}, auth[Role.OPERATOR]):
        for method, url in NUL_URLS:
            response = await client.request(method, url, headers=headers)
            assert_problem(response, 400, "NUL")
    # The same paths without the NUL are served as usual.
    found = await client.get("/api/v1/sites", params={"q": "hoa an"}, headers=auth[Role.VIEWER])
    assert found.json()["total"] == 1


async def test_the_monitor_worker_refuses_nul_in_the_url_too(tmp_path: Path) -> None:
    # Refused before routing: the worker's engine and database are never needed (nor started).
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/none.db", data_dir=tmp_path)
    transport = httpx.ASGITransport(app=create_app(settings, worker=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/api/v1/agents/%00/sessions", headers={"Authorization": "Bearer bws_x"}
        )
    assert_problem(response, 400, "NUL")
    assert not (tmp_path / "none.db").exists()


@pytest.mark.usefixtures("no_errors_logged")
async def test_control_characters_in_bodies_are_refused_naming_the_field(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    operator, admin = auth[Role.OPERATOR], auth[Role.ADMIN]
    conference = await client.post("/api/v1/conferences", json=PLAN, headers=admin)
    conference_url = conference.headers["location"]
    ack_url = f"/api/v1/incidents/{await _incident(seeded)}/ack"
    cases: list[tuple[str, str, dict[str, Any], dict[str, str], str, str]] = [
        ("POST", "/api/v1/sites", {**NEW_SITE, "name": "Xã\x00"}, operator, "name", "U+0000"),
        (
            "POST",
            "/api/v1/sites",
            {**NEW_SITE, "contact_name": "\x00"},
            operator,
            "contact_name",
            "U+0000",
        ),
        (
            "POST",
            "/api/v1/sites",
            {**NEW_SITE, "probe_target": "http://10.4.1.20:8443/\x00"},
            operator,
            "probe_target",
            "U+0000",
        ),
        ("POST", "/api/v1/sites", {**NEW_SITE, "name": "Xã\x1b[31m"}, operator, "name", "U+001B"),
        ("PATCH", "/api/v1/sites/040", {"name": "Thành phố\x00"}, operator, "name", "U+0000"),
        (
            "PATCH",
            "/api/v1/sites/040",
            {"contact_name": "a\x7fb"},
            operator,
            "contact_name",
            "U+007F",
        ),
        ("POST", "/api/v1/conferences", {**PLAN, "title": "Hội\x00nghị"}, admin, "title", "U+0000"),
        ("POST", "/api/v1/conferences", {**PLAN, "title": "Hội\nnghị"}, admin, "title", "U+000A"),
        (
            "POST",
            "/api/v1/conferences",
            {**PLAN, "description": "\x00"},
            admin,
            "description",
            "U+0000",
        ),
        ("PATCH", conference_url, {"title": "\x00"}, admin, "title", "U+0000"),
        ("PATCH", conference_url, {"description": "a\x00"}, admin, "description", "U+0000"),
        ("POST", ack_url, {"note": "đã gọi\x00"}, operator, "note", "U+0000"),
        ("POST", "/api/v1/tokens", {"name": "\x00", "role": "viewer"}, admin, "name", "U+0000"),
        ("POST", "/api/v1/tokens", {"name": "a\tb", "role": "viewer"}, admin, "name", "U+0009"),
    ]
    for method, url, body, headers, field, character in cases:
        response = await client.request(method, url, json=body, headers=headers)
        assert_problem(response, 422, f"body.{field}", character, "control character")
    # Nothing of it was stored.
    assert (await client.get("/api/v1/sites/T1", headers=operator)).status_code == 404
    tokens = (await client.get("/api/v1/tokens", headers=admin)).json()
    assert all("\x00" not in t["name"] and "\t" not in t["name"] for t in tokens)
    # Line breaks and tabs stay welcome where text runs over several lines.
    note = "Đã gọi anh Tuấn.\n\tĐang khởi động lại bộ định tuyến."
    acked = await client.post(ack_url, json={"note": note}, headers=operator)
    assert acked.status_code == 200 and acked.json()["ack_note"] == note, acked.text
    described = await client.patch(conference_url, json={"description": note}, headers=admin)
    assert described.status_code == 200 and described.json()["description"] == note


RANGE = ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z")


@pytest.mark.usefixtures("no_errors_logged")
async def test_dates_past_what_can_be_stored_are_refused_with_the_range(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    viewer, admin = auth[Role.VIEWER], auth[Role.ADMIN]
    samples = "/api/v1/sites/01267/samples"
    for name, value in (
        ("since", "0001-01-01T00:00:00+14:00"),
        ("until", "9999-12-31T23:59:59-14:00"),
        ("since", "0001-01-01T13:59:59+14:00"),
    ):
        response = await client.get(samples, params={name: value}, headers=viewer)
        assert_problem(response, 422, f"query.{name}", *RANGE)
    for name, value in (("since", "0001-01-01T00:00:00Z"), ("until", "9999-12-31T23:59:59Z")):
        response = await client.get(samples, params={name: value}, headers=viewer)
        assert response.status_code == 200, response.text

    early = {**PLAN, "starts_at": "0001-01-01T00:00:00+07:00"}
    response = await client.post("/api/v1/conferences", json=early, headers=admin)
    assert_problem(response, 422, "body.starts_at", *RANGE)
    created = await client.post("/api/v1/conferences", json=PLAN, headers=admin)
    url = created.headers["location"]
    late = {"ends_at": "9999-12-31T23:59:59-14:00"}
    assert_problem(await client.patch(url, json=late, headers=admin), 422, "body.ends_at", *RANGE)
    token = {"name": "wall screen", "role": "viewer", "expires_at": "9999-12-31T23:59:59-14:00"}
    response = await client.post("/api/v1/tokens", json=token, headers=admin)
    assert_problem(response, 422, "body.expires_at", *RANGE)

    # The ends of the range are fine, whatever the offset they are written with.
    lasting = {**token, "expires_at": "9999-12-31T23:59:59+00:00"}
    kept = await client.post("/api/v1/tokens", json=lasting, headers=admin)
    assert kept.status_code == 201 and kept.json()["expires_at"] == "9999-12-31T23:59:59Z"
    ancient = {**PLAN, "starts_at": "0001-01-01T07:00:00+07:00", "ends_at": "0001-01-01T01:00Z"}
    stored = await client.post("/api/v1/conferences", json=ancient, headers=admin)
    assert stored.status_code == 201 and stored.json()["starts_at"] == "0001-01-01T00:00:00Z"
    listed = await client.get("/api/v1/conferences", headers=viewer)
    assert listed.json()["total"] == 2
