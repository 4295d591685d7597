"""Conferences: an admin plans one with its sites and delegates; bad plans are refused."""

import httpx

from models.auth import Role

Headers = dict[Role, dict[str, str]]
PLAN = {
    "title": "Hội nghị trực tuyến tỉnh Cao Bằng",
    "starts_at": "2026-12-01T08:00:00+07:00",
    "ends_at": "2026-12-01T11:30:00+07:00",
    "sites": [
        {"site_code": "051", "expected_delegates": 40},
        {"site_code": "01267", "expected_delegates": 25},
    ],
}


async def test_admin_plans_edits_and_deletes_a_conference(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    admin = auth[Role.ADMIN]
    created = await client.post("/api/v1/conferences", json=PLAN, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["phase"] == "ended" and body["expected_delegates"] == 65  # by the clock
    assert {s["site_name"] for s in body["sites"]} == {"Huyện Hòa An", "Phường Sông Hiến"}
    assert body["starts_at"] == "2026-12-01T01:00:00Z"  # stored and shown in UTC
    url = created.headers["location"]

    assert body["time_zone"] == "Asia/Ho_Chi_Minh" and body["preflight_minutes"] == 60
    assert [(p["phase"], p["at"], p["by"]) for p in body["phases"]] == [
        ("preflight", "2026-12-01T00:00:00Z", "schedule"),
        ("live", "2026-12-01T01:00:00Z", "schedule"),
        ("ended", "2026-12-01T04:30:00Z", "schedule"),
    ]

    patch = {"preflight_minutes": 90, "sites": [{"site_code": "051", "expected_delegates": 50}]}
    edited = await client.patch(url, json=patch, headers=admin)
    assert edited.status_code == 200, edited.text
    assert edited.json()["phases"][0]["at"] == "2026-11-30T23:30:00Z"
    assert [s["site_code"] for s in edited.json()["sites"]] == ["051"]
    assert edited.json()["expected_delegates"] == 50

    listed = await client.get("/api/v1/conferences", headers=auth[Role.VIEWER])
    assert listed.json()["total"] == 1 and listed.json()["items"][0] == edited.json()
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404


async def test_bad_plans_are_refused(client: httpx.AsyncClient, auth: Headers) -> None:
    admin = auth[Role.ADMIN]
    cases = [
        ({**PLAN, "ends_at": "2026-12-01T07:00:00+07:00"}, "ends_at must be after starts_at"),
        ({**PLAN, "starts_at": "2026-12-01T08:00:00"}, "timezone"),
        ({**PLAN, "sites": [{"site_code": "NOPE"}]}, "unknown site codes: NOPE"),
        ({**PLAN, "sites": [{"site_code": "051"}, {"site_code": "051"}]}, "listed twice: 051"),
        ({**PLAN, "sites": [{"site_code": "051", "expected_delegates": -1}]}, "expected_delegates"),
        ({**PLAN, "venue": "hall"}, "venue"),
        ({**PLAN, "phase": "live"}, "phase follows the schedule and cannot be set"),
        ({**PLAN, "time_zone": "Asia/Hanoi_City"}, "unknown time zone 'Asia/Hanoi_City'"),
        ({**PLAN, "time_zone": "../../etc/passwd"}, "unknown time zone"),
        ({**PLAN, "preflight_minutes": -5}, "preflight_minutes"),
        ({**PLAN, "ready_minutes": 0}, "ready_minutes"),
    ]
    for plan, detail in cases:
        response = await client.post("/api/v1/conferences", json=plan, headers=admin)
        assert response.status_code == 422, (plan, response.text)
        assert detail in response.json()["detail"]
    created = await client.post("/api/v1/conferences", json=PLAN, headers=admin)
    url = created.headers["location"]
    late_start = await client.patch(url, json={"starts_at": "2026-12-02T00:00:00Z"}, headers=admin)
    assert late_start.status_code == 422
    assert (await client.get("/api/v1/conferences", headers=admin)).json()["total"] == 1
    assert (await client.get(url, headers=admin)).json()["starts_at"] == "2026-12-01T01:00:00Z"
