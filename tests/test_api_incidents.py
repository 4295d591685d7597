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
