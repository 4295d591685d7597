"""The sites API as an organiser or operator uses it, and every kind of bad input it must refuse."""

from typing import Any

import httpx
import pytest

from models.auth import Role

Headers = dict[Role, dict[str, str]]
NEW_SITE = {"code": "T1", "name": "Xã Thử Nghiệm", "level": "commune", "parent_code": "051"}


async def test_lists_all_172_sites_with_their_place_in_the_tree(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    response = await client.get("/api/v1/sites", headers=auth[Role.VIEWER])
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 172 and len(body["items"]) == 172
    first = body["items"][0]
    assert {"code", "name", "level", "parent_code", "status", "lat", "lon"} <= set(first)
    levels = {item["level"] for item in body["items"]}
    assert levels == {"hub", "district", "commune"}
    assert all(item["status"] == "unknown" for item in body["items"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"level": "district"}, 10),
        ({"level": "hub"}, 1),
        ({"parent": "051"}, 15),  # the communes of Hòa An district
        ({"status": "unknown", "level": "commune"}, 161),
        ({"status": "down"}, 0),
        ({"q": "hoa an"}, 1),
        ({"q": "HÒA AN"}, 1),
        ({"q": "quang hoa"}, 1),  # Huyện Quảng Hòa
        ({"q": "100%_"}, 0),  # LIKE wildcards are taken literally
        ({"limit": 5}, 172),  # total counts all matches, not the page
    ],
)
async def test_filters(
    client: httpx.AsyncClient, auth: Headers, query: dict[str, Any], expected: int
) -> None:
    response = await client.get("/api/v1/sites", params=query, headers=auth[Role.VIEWER])
    assert response.status_code == 200, response.text
    assert response.json()["total"] == expected


async def test_paging_walks_every_site_once(client: httpx.AsyncClient, auth: Headers) -> None:
    seen: list[str] = []
    for offset in range(0, 172, 50):
        page = await client.get(
            "/api/v1/sites", params={"limit": 50, "offset": offset}, headers=auth[Role.VIEWER]
        )
        seen += [item["code"] for item in page.json()["items"]]
    assert len(seen) == len(set(seen)) == 172


async def test_operator_creates_edits_and_deletes_a_site(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    operator = auth[Role.OPERATOR]
    created = await client.post("/api/v1/sites", json=NEW_SITE, headers=operator)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/sites/T1"
    assert created.json()["parent_code"] == "051" and created.json()["status"] == "unknown"

    patch = {"contact_phone": "+84 912 345 678", "enabled": False, "thresholds": {"mos": 3.2}}
    edited = await client.patch("/api/v1/sites/T1", json=patch, headers=operator)
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["contact_phone"] == "+84 912 345 678"
    assert body["status"] == "paused"  # disabled means maintenance: nobody is paged
    assert body["thresholds"]["mos"] == 3.2

    fetched = await client.get("/api/v1/sites/T1", headers=operator)
    assert fetched.json() == body
    assert (await client.get("/api/v1/sites", params={"q": "thu nghiem"}, headers=operator)).json()[
        "total"
    ] == 1

    assert (await client.delete("/api/v1/sites/T1", headers=operator)).status_code == 204
    assert (await client.get("/api/v1/sites/T1", headers=operator)).status_code == 404


async def test_summary_counts_by_status_and_level(client: httpx.AsyncClient, auth: Headers) -> None:
    await client.patch("/api/v1/sites/01267", json={"enabled": False}, headers=auth[Role.OPERATOR])
    summary = (await client.get("/api/v1/summary", headers=auth[Role.VIEWER])).json()
    assert summary["total"] == 172
    # The hub is not probed by design (probe mode none): counted apart, never as unknown.
    assert summary["not_probed"] == 1
    assert summary["by_status"] == {
        "unknown": 170,
        "up": 0,
        "degraded": 0,
        "down": 0,
        "paused": 1,
        "maintenance": 0,
    }
    assert summary["by_level"] == {"hub": 1, "province": 0, "district": 10, "commune": 161}
    assert summary["by_level_status"]["commune"]["paused"] == 1
    assert summary["by_level_status"]["hub"] == dict.fromkeys(summary["by_status"], 0)
    assert summary["by_level_not_probed"] == {"hub": 1, "province": 0, "district": 0, "commune": 0}


async def test_a_site_not_probed_by_design_is_never_unknown(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    """Whatever the mode or level, the counts add up: probed ones by status, the rest apart."""
    operator = auth[Role.OPERATOR]
    for code in ("051", "01267"):  # a district and a commune taken out of probing
        edited = await client.patch(
            f"/api/v1/sites/{code}", json={"probe_mode": "none"}, headers=operator
        )
        assert edited.status_code == 200, edited.text
    summary = (await client.get("/api/v1/summary", headers=auth[Role.VIEWER])).json()
    assert summary["not_probed"] == 3 and summary["by_status"]["unknown"] == 169
    assert summary["total"] == summary["not_probed"] + sum(summary["by_status"].values()) == 172
    assert summary["by_level_not_probed"] == {"hub": 1, "province": 0, "district": 1, "commune": 1}
    for level, count in summary["by_level"].items():
        probed = sum(summary["by_level_status"][level].values())
        assert count == probed + summary["by_level_not_probed"][level], level
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["Summary"]
    assert "total = not_probed + sum(by_status)" in schema["description"]


async def _problem(response: httpx.Response, status: int, detail_part: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail_part in response.json()["detail"]


async def test_bad_bodies_get_a_clear_problem_and_change_nothing(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    op = auth[Role.OPERATOR]
    raw = {**op, "content-type": "application/json"}
    cases = [
        (
            client.post("/api/v1/sites", content=b'{"code": "T1",', headers=raw),
            400,
            "not valid JSON",
        ),
        (client.post("/api/v1/sites", json={**NEW_SITE, "lat": "north"}, headers=op), 422, "lat"),
        (
            client.post("/api/v1/sites", json={**NEW_SITE, "colour": "red"}, headers=op),
            422,
            "colour",
        ),
        (client.post("/api/v1/sites", json={**NEW_SITE, "level": "x"}, headers=op), 422, "level"),
        (client.post("/api/v1/sites", json={**NEW_SITE, "code": "a b"}, headers=op), 422, "code"),
        (
            client.post("/api/v1/sites", json={**NEW_SITE, "parent_code": "NOPE"}, headers=op),
            422,
            "parent site 'NOPE' does not exist",
        ),
        (
            client.post("/api/v1/sites", json={**NEW_SITE, "code": "040"}, headers=op),
            409,
            "already exists",
        ),
        (
            client.post("/api/v1/sites", json={**NEW_SITE, "probe_target": "ftp://x"}, headers=op),
            422,
            "http",
        ),
        (client.patch("/api/v1/sites/040", json={"name": None}, headers=op), 422, "cannot be null"),
        (
            client.patch("/api/v1/sites/040", json={"parent_code": "01267"}, headers=op),
            422,
            "cycle: 040 -> 01267 -> 040",
        ),
        (client.patch("/api/v1/sites/040", json={"parent_code": "040"}, headers=op), 422, "cycle"),
        (client.patch("/api/v1/sites/NOPE", json={"name": "x"}, headers=op), 404, "NOPE"),
        (client.delete("/api/v1/sites/040", headers=op), 409, "child sites"),
        (client.get("/api/v1/sites", params={"limit": 0}, headers=op), 422, "limit"),
    ]
    for request, status, detail in cases:
        await _problem(await request, status, detail)

    sites = (await client.get("/api/v1/sites", headers=op)).json()
    assert sites["total"] == 172
    district = next(item for item in sites["items"] if item["code"] == "040")
    assert district["parent_code"] == "04" and district["name"] == "Thành phố Cao Bằng"
