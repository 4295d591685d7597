"""Grouping as stored, on real SQLite and PostgreSQL: the group incident, its children attached
and let go, as REST shows them; two workers deciding for one district at once."""

import asyncio
import logging
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker, open_database
from models.incident import Incident, IncidentKind
from models.site import Site, SiteStatus
from monitor.probe.group_store import GroupStore
from monitor.probe.grouping import Rule
from monitor.probe.incidents import Notice
from monitor.probe.monitor_link import NOT_OBSERVABLE
from tests.databases import PostgresDatabases
from tests.service import free_port
from tests.test_outage import seeded_postgres

RULE = Rule(fraction=0.5, window=timedelta(seconds=30))
DISTRICT = "040"  # Thành phố Cao Bằng: 11 communes

Headers = dict[Role, dict[str, str]]


async def communes_with_agents(sessionmaker: SessionMaker, code: str = DISTRICT) -> list[Site]:
    """The district's communes, each given an agent address (so probed)."""
    async with sessionmaker() as session:
        district = await session.scalar(select(Site).where(Site.code == code))
        assert district is not None
        await session.execute(
            update(Site)
            .where(Site.parent_id == district.id)
            .values(probe_target="http://127.0.0.1:9/agent")
        )
        await session.commit()
        communes = await session.scalars(
            select(Site).where(Site.parent_id == district.id).order_by(Site.id)
        )
        return list(communes)


async def down_incidents(
    sessionmaker: SessionMaker, sites: list[Site], since: datetime
) -> list[int]:
    """An open down incident for each site, a second apart from `since`; their ids."""
    async with sessionmaker() as session:
        rows = [
            Incident(
                site_id=site.id,
                severity=SiteStatus.DOWN,
                opened_at=since + timedelta(seconds=n),
            )
            for n, site in enumerate(sites)
        ]
        session.add_all(rows)
        await session.commit()
        return [row.id for row in rows]


async def two_districts_down(sessionmaker: SessionMaker) -> list[Site]:
    """The 24 communes of 040 and 042, down for 5 s with their incidents open: as the monitor
    sees every site when its own cable is cut."""
    communes = await communes_with_agents(sessionmaker, "040")
    communes += await communes_with_agents(sessionmaker, "042")
    await down_incidents(sessionmaker, communes, utcnow() - timedelta(seconds=5))
    async with sessionmaker() as session:
        await session.execute(
            update(Site).where(Site.id.in_([c.id for c in communes])).values(status=SiteStatus.DOWN)
        )
        await session.commit()
    return communes


async def _close(sessionmaker: SessionMaker, ids: list[int]) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(Incident).where(Incident.id.in_(ids)).values(closed_at=utcnow())
        )
        await session.commit()


async def test_a_district_whose_communes_fall_together_has_one_incident_with_theirs_attached(
    seeded: SessionMaker, client: httpx.AsyncClient, auth: Headers
) -> None:
    communes = await communes_with_agents(seeded)
    started = utcnow() - timedelta(seconds=20)
    # One down for an hour on its own, then eight together.
    alone = await down_incidents(seeded, communes[:1], started - timedelta(hours=1))
    together = await down_incidents(seeded, communes[1:9], started)
    store = GroupStore(seeded, RULE)
    notices = await store.regroup([c.id for c in communes[1:9]], utcnow())
    viewer = auth[Role.VIEWER]
    groups = (
        await client.get("/api/v1/incidents", params={"site": DISTRICT}, headers=viewer)
    ).json()["items"]
    assert len(groups) == 1
    group = groups[0]
    assert group["kind"] == "group" and group["closed_at"] is None
    assert group["cause"] == "district link: 8 of 11 communes down"
    assert group["severity"] == "down" and datetime.fromisoformat(group["opened_at"]) == started
    children = (
        await client.get("/api/v1/incidents", params={"parent": group["id"]}, headers=viewer)
    ).json()["items"]
    assert sorted(c["id"] for c in children) == together
    assert all(c["kind"] == "site" and c["cause"] is None for c in children)
    lone = (await client.get(f"/api/v1/incidents/{alone[0]}", headers=viewer)).json()
    assert lone["parent_incident_id"] is None
    assert [(n.incident_id, n.state) for n in notices] == [
        (group["id"], Notice.OPENED),
        *[(i, Notice.GROUPED) for i in together],
    ]

    # A commune falling later joins; then the link comes back but for two stragglers.
    late = await down_incidents(seeded, communes[9:10], utcnow())
    await store.regroup([communes[9].id], utcnow())
    joined = (await client.get(f"/api/v1/incidents/{late[0]}", headers=viewer)).json()
    assert joined["parent_incident_id"] == group["id"]
    await _close(seeded, together[2:] + late)
    closing = utcnow()
    await store.regroup([c.id for c in communes], closing)
    after = (await client.get(f"/api/v1/incidents/{group['id']}", headers=viewer)).json()
    assert after["closed_at"] is not None
    assert after["cause"] == "district link: 9 of 11 communes down"  # the most that fell
    # The two still down come back a moment later, or do not: then they stand on their own.
    assert await _parents(seeded, together[:2]) == {group["id"]}
    let_go = await store.regroup([], closing + RULE.window - timedelta(seconds=1))
    assert let_go == [] and await _parents(seeded, together[:2]) == {group["id"]}
    let_go = await store.regroup([], closing + RULE.window + timedelta(seconds=1))
    assert sorted(n.incident_id for n in let_go) == together[:2]
    assert await _parents(seeded, together[:2]) == {None}


async def _parents(sessionmaker: SessionMaker, ids: list[int]) -> set[int | None]:
    async with sessionmaker() as session:
        found = await session.scalars(
            select(Incident.parent_incident_id).where(Incident.id.in_(ids))
        )
        return set(found)


async def test_two_workers_deciding_at_once_open_one_group(postgres: PostgresDatabases) -> None:
    """Each worker with its own connections, as two processes would have, on PostgreSQL."""
    async with seeded_postgres(postgres) as (url, first), open_database(url) as second:
        communes = await communes_with_agents(first)
        ids = await down_incidents(first, communes, utcnow() - timedelta(seconds=5))
        stores = [GroupStore(first, RULE), GroupStore(second, RULE)]
        for _ in range(5):  # every round: both at once
            await asyncio.gather(
                *(store.regroup([c.id for c in communes], utcnow()) for store in stores)
            )
        async with first() as session:
            groups = (
                await session.scalars(select(Incident).where(Incident.kind == IncidentKind.GROUP))
            ).all()
        parents = await _parents(first, ids)
    assert len(groups) == 1 and parents == {groups[0].id}
    assert groups[0].cause == "district link: 11 of 11 communes down"


async def test_a_district_group_open_when_the_monitors_link_is_found_out_closes(
    seeded: SessionMaker,
) -> None:
    """040's communes fell first and its group opened (the gateway still answered, or nobody
    had asked it); then 042's fell too and the gateway is found silent: every site is the
    monitor's link's, and 040's group, left with no child, closes."""
    first = await communes_with_agents(seeded, "040")
    then = await communes_with_agents(seeded, "042")
    await down_incidents(seeded, first, utcnow() - timedelta(seconds=10))
    await GroupStore(seeded, RULE).regroup([c.id for c in first], utcnow())
    ids = await down_incidents(seeded, then, utcnow() - timedelta(seconds=5))
    silent = GroupStore(seeded, RULE, [f"127.0.0.1:{free_port()}"])
    notices = await silent.regroup([c.id for c in then], utcnow())
    async with seeded() as session:
        rows = {
            kind: list(await session.scalars(select(Incident).where(Incident.kind == kind)))
            for kind in IncidentKind
        }
    (link,) = rows[IncidentKind.MONITOR_LINK]
    (group,) = rows[IncidentKind.GROUP]
    assert link.closed_at is None and group.closed_at is not None
    assert {i.parent_incident_id for i in rows[IncidentKind.SITE]} == {link.id}
    assert link.cause is not None and link.cause.startswith("monitor's link: 24 of 24 sites")
    assert (group.id, Notice.CLOSED) in [(n.incident_id, n.state) for n in notices]
    assert set(ids) <= {n.incident_id for n in notices if n.state == Notice.GROUPED}


async def test_while_the_monitors_link_is_out_its_down_sites_read_not_observable(
    seeded: SessionMaker, client: httpx.AsyncClient, auth: Headers
) -> None:
    """An organiser asking which communes are down during a cut in the server room is told
    none is known to be: the sites read unknown, not observable, in every REST answer; their
    incidents and stored status stay down, and read down again once the link is back."""
    viewer = auth[Role.VIEWER]
    communes = await two_districts_down(seeded)
    store = GroupStore(seeded, RULE, [f"127.0.0.1:{free_port()}"])  # the gateway is silent
    await store.regroup([c.id for c in communes], utcnow())
    assert store.link_out  # what the worker's site metrics follow

    async def shown(params: dict[str, str]) -> list[dict[str, object]]:
        listed = await client.get("/api/v1/sites", params=params, headers=viewer)
        assert listed.status_code == 200, listed.text
        items: list[dict[str, object]] = listed.json()["items"]
        return items

    district = await shown({"parent": "040"})
    assert {(s["status"], s["observable"]) for s in district} == {("unknown", False)}
    assert {s["status_reason"] for s in district} == {NOT_OBSERVABLE}
    assert await shown({"status": "down"}) == []
    assert {c.code for c in communes} <= {s["code"] for s in await shown({"status": "unknown"})}
    one = (await client.get(f"/api/v1/sites/{communes[0].code}", headers=viewer)).json()
    assert (one["status"], one["observable"]) == ("unknown", False)
    summary = (await client.get("/api/v1/summary", headers=viewer)).json()
    assert summary["by_status"]["down"] == 0
    assert summary["monitor_link"]["not_observable"] == len(communes)

    async with seeded() as session:  # the link is back (as its step closes it)
        await session.execute(
            update(Incident)
            .where(Incident.kind == IncidentKind.MONITOR_LINK)
            .values(closed_at=utcnow())
        )
        await session.commit()
    district = await shown({"parent": "040"})
    assert {(s["status"], s["observable"]) for s in district} == {("down", True)}
    assert len(await shown({"status": "down"})) == len(communes)
    summary = (await client.get("/api/v1/summary", headers=viewer)).json()
    assert summary["by_status"]["down"] == len(communes) and summary["monitor_link"] is None


async def test_silent_references_are_logged_once_not_at_every_step(
    seeded: SessionMaker, caplog: pytest.LogCaptureFixture
) -> None:
    """While the monitor's link is out, every step asks the references again; the log says
    when they fell silent, not every few seconds for as long as the cable is cut."""
    communes = await communes_with_agents(seeded, "040") + await communes_with_agents(seeded, "042")
    await down_incidents(seeded, communes, utcnow() - timedelta(seconds=10))
    silent = GroupStore(seeded, RULE, [f"127.0.0.1:{free_port()}"])
    with caplog.at_level(logging.INFO, logger="monitor.probe.group_store"):
        for _ in range(3):
            await silent.regroup([c.id for c in communes], utcnow())
    said = [r.getMessage() for r in caplog.records if r.name == "monitor.probe.group_store"]
    assert said.count("monitor link references unreachable") == 1
