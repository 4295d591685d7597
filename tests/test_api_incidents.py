"""Incidents as the API shows them: newest first, filtered, with their duration."""

from datetime import timedelta

import httpx
from sqlalchemy import select

from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.incident import Incident
from models.site import Site, SiteStatus

Headers = dict[Role, dict[str, str]]


async def test_incidents_list_open_and_closed(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    now = utcnow()
    async with seeded() as session:
        site = await session.scalar(select(Site).where(Site.code == "01267"))
        assert site is not None
        session.add_all(
            [
                Incident(
                    site_id=site.id,
                    severity=SiteStatus.DOWN,
                    opened_at=now - timedelta(minutes=10),
                    closed_at=now - timedelta(minutes=7),
                ),
                Incident(
                    site_id=site.id,
                    severity=SiteStatus.DEGRADED,
                    opened_at=now,
                    worst_loss_ratio=0.08,
                ),
            ]
        )
        await session.commit()
    viewer = auth[Role.VIEWER]
    everything = (await client.get("/api/v1/incidents", headers=viewer)).json()
    assert everything["total"] == 2
    latest, earlier = everything["items"]
    assert latest["severity"] == "degraded" and latest["duration_seconds"] is None
    assert earlier["duration_seconds"] == 180 and earlier["site_name"] == "Phường Sông Hiến"
    still_open = await client.get("/api/v1/incidents", params={"open": "true"}, headers=viewer)
    assert [i["id"] for i in still_open.json()["items"]] == [latest["id"]]
    other_site = await client.get("/api/v1/incidents", params={"site": "040"}, headers=viewer)
    assert other_site.json()["total"] == 0
    one = await client.get(f"/api/v1/incidents/{latest['id']}", headers=viewer)
    assert one.json()["worst_loss_ratio"] == 0.08
    assert (await client.get("/api/v1/incidents/999999", headers=viewer)).status_code == 404


async def test_an_operator_acknowledges_with_a_note_a_viewer_cannot(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    async with seeded() as session:
        site = await session.scalar(select(Site).where(Site.code == "01267"))
        assert site is not None
        incident = Incident(site_id=site.id, severity=SiteStatus.DOWN, opened_at=utcnow())
        session.add(incident)
        await session.commit()
    url = f"/api/v1/incidents/{incident.id}/ack"
    note = {"note": "Đã gọi anh Tuấn, đang khởi động lại bộ định tuyến"}
    refused = await client.post(url, json=note, headers=auth[Role.VIEWER])
    assert refused.status_code == 403
    acked = await client.post(url, json=note, headers=auth[Role.OPERATOR])
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"] == "test-operator"
    stored = await client.get(f"/api/v1/incidents/{incident.id}", headers=auth[Role.VIEWER])
    assert stored.json()["ack_note"] == note["note"] and stored.json()["acknowledged_at"]
    again = await client.post(url, json={"note": "khác"}, headers=auth[Role.ADMIN])
    assert again.status_code == 409 and "test-operator" in again.json()["detail"]
    kept = await client.get(f"/api/v1/incidents/{incident.id}", headers=auth[Role.VIEWER])
    assert kept.json()["ack_note"] == note["note"]
    bad = await client.post(url, json={"note": 5, "by": "x"}, headers=auth[Role.OPERATOR])
    assert bad.status_code == 422
    missing = await client.post(
        "/api/v1/incidents/999999/ack", json={}, headers=auth[Role.OPERATOR]
    )
    assert missing.status_code == 404
