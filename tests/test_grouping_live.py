"""Grouping with real agents over real WebRTC: a district's uplink falls (every agent of its
communes gone at once) and staff see one incident on the district, its communes' attached; the
monitor's own cable is cut and staff see one monitor-link incident, and are sent one message."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from models.auth import Role
from models.db import SessionMaker
from models.notification import ChannelType
from models.settings import Settings
from monitor.agent.http import agent_app
from tests.databases import SQLITE_ONLY
from tests.probing import eventually, fast, give_agent, serving
from tests.receivers import SECRET, WebhookReceiver, webhook_server
from tests.service import free_port
from tests.test_notifications import KEY, channel_and_rule
from tests.test_probe import in_process_agents, service

pytestmark = SQLITE_ONLY

# District 051 (Huyện Quảng Hòa)'s communes, and two communes of another district (042).
DISTRICT = "051"
OTHERS = ["01267", "01270"]

Headers = dict[Role, dict[str, str]]


async def _communes(client: httpx.AsyncClient, viewer: dict[str, str]) -> list[str]:
    listed = await client.get("/api/v1/sites", params={"limit": 1000}, headers=viewer)
    return [s["code"] for s in listed.json()["items"] if s["parent_code"] == DISTRICT]


async def test_a_district_whose_agents_all_die_has_one_incident_with_its_communes_attached(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    viewer = auth[Role.VIEWER]
    async with service(settings) as listing:
        communes = await _communes(listing, viewer)
    assert len(communes) == 15
    district_port, other_port = free_port(), free_port()
    secrets = {
        code: await give_agent(seeded, code, f"http://127.0.0.1:{district_port}/{code}")
        for code in communes
    }
    others = {
        code: await give_agent(seeded, code, f"http://127.0.0.1:{other_port}/{code}")
        for code in OTHERS
    }
    district_agents = in_process_agents(secrets)
    other_agents = in_process_agents(others)
    async with serving(agent_app(other_agents), other_port), service(fast(settings)) as client:

        async def statuses(codes: list[str]) -> set[str]:
            listed = await client.get("/api/v1/sites", params={"limit": 1000}, headers=viewer)
            return {s["status"] for s in listed.json()["items"] if s["code"] in codes}

        async def all_up() -> bool:
            return await statuses([*communes, *OTHERS]) == {"up"}

        async with serving(agent_app(district_agents), district_port):
            await eventually(all_up, "every site is up")
            for agent in district_agents.values():  # the uplink falls: every peer gone at once
                await agent.close()

        async def open_incidents() -> list[dict[str, object]]:
            listed = await client.get(
                "/api/v1/incidents", params={"open": "true", "limit": 1000}, headers=viewer
            )
            items: list[dict[str, object]] = listed.json()["items"]
            return items

        seen: list[list[dict[str, object]]] = []

        async def grouped() -> bool:
            seen[:] = [await open_incidents()]
            groups = [i for i in seen[0] if i["kind"] == "group"]
            children = [i for i in seen[0] if i["kind"] == "site"]
            return (
                len(groups) == 1
                and len(children) == 15
                and all(c["parent_incident_id"] == groups[0]["id"] for c in children)
            )

        try:
            await eventually(grouped, "one district incident, its 15 communes attached")
        except AssertionError as failed:
            raise AssertionError(f"open incidents: {seen}") from failed
        items = await open_incidents()
        assert await statuses(OTHERS) == {"up"}
        # The uplink is back: the communes recover, and the district's incident closes with them.
        async with serving(agent_app(in_process_agents(secrets)), district_port):
            await eventually(all_up, "every site is up again")

            async def none_open() -> bool:
                return await open_incidents() == []

            await eventually(none_open, "the district incident closed with its communes'")
    group = next(i for i in items if i["kind"] == "group")
    assert group["site_code"] == DISTRICT and group["severity"] == "down"
    assert group["cause"] == "district link: 15 of 15 communes down"
    assert {i["site_code"] for i in items if i["kind"] == "site"} == set(communes)


# Communes of two districts (040 and 042), every one of them probed in the test.
TWO_DISTRICTS = [
    *["01267", "01270", "01273", "01276", "01279", "01282"],
    *["01290", "01291", "01294", "01296", "01297", "01300"],
]


@contextlib.asynccontextmanager
async def gateway(port: int) -> AsyncIterator[None]:
    """A TCP listener standing for the monitor's gateway: answers while it runs."""
    server = await asyncio.start_server(lambda _reader, writer: writer.close(), "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


async def monitor_link_seen(
    client: httpx.AsyncClient, viewer: dict[str, str]
) -> tuple[float, object, float]:
    """`bridgewatch_incidents_open{kind="monitor_link"}`, the summary's monitor link id, and
    how many of the two districts' sites `bridgewatch_site_status` says are down."""
    scraped = list(text_string_to_metric_families((await client.get("/metrics")).text))
    samples = [sample for family in scraped for sample in family.samples]
    (open_links,) = [
        s.value
        for s in samples
        if s.name == "bridgewatch_incidents_open" and s.labels["kind"] == "monitor_link"
    ]
    down = sum(
        s.value
        for s in samples
        if s.name == "bridgewatch_site_status"
        and s.labels["status"] == "down"
        and s.labels["site"] in TWO_DISTRICTS
    )
    link = (await client.get("/api/v1/summary", headers=viewer)).json()["monitor_link"]
    return open_links, None if link is None else link["incident_id"], down


async def test_every_agent_gone_with_the_gateway_is_one_monitor_link_incident(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    viewer = auth[Role.VIEWER]
    port, gateway_port = free_port(), free_port()
    secrets = {
        code: await give_agent(seeded, code, f"http://127.0.0.1:{port}/{code}")
        for code in TWO_DISTRICTS
    }
    agents = in_process_agents(secrets)
    reference = f"127.0.0.1:{gateway_port}"
    watching = fast(
        settings,
        monitor_link_references=[reference],
        notify_secret_key=SecretStr(KEY),
        notify_digest_seconds=10.0,  # generous: on a busy box the sites fall over seconds
    )
    receiver = WebhookReceiver()
    # The agents and the gateway answer before the engine first dials: no site starts down.
    # The gateway goes first (the inner context): the cut is the monitor's, its sites seen to
    # fall after it.
    before_the_cut = contextlib.AsyncExitStack()
    await before_the_cut.enter_async_context(serving(agent_app(agents), port))
    await before_the_cut.enter_async_context(gateway(gateway_port))
    async with before_the_cut, webhook_server(receiver) as hook, service(watching) as client:
        await channel_and_rule(seeded, ChannelType.WEBHOOK, {"url": hook}, SECRET)

        async def statuses() -> set[str]:
            listed = await client.get("/api/v1/sites", params={"limit": 1000}, headers=viewer)
            return {s["status"] for s in listed.json()["items"] if s["code"] in TWO_DISTRICTS}

        async def all_up() -> bool:
            return await statuses() == {"up"}

        async def open_incidents() -> list[dict[str, object]]:
            listed = await client.get(
                "/api/v1/incidents", params={"open": "true", "limit": 1000}, headers=viewer
            )
            items: list[dict[str, object]] = listed.json()["items"]
            return items

        await eventually(all_up, "every site is up")
        await before_the_cut.aclose()
        # The server room's cable is cut: the gateway does not answer, nor does any agent.
        for agent in agents.values():
            await agent.close()

        seen: list[list[dict[str, object]]] = []

        async def blind() -> bool:
            seen[:] = [await open_incidents()]
            links = [i for i in seen[0] if i["kind"] == "monitor_link"]
            sites = [i for i in seen[0] if i["kind"] == "site"]
            return (
                len(links) == 1
                and len(sites) == len(TWO_DISTRICTS)
                and all(s["parent_incident_id"] == links[0]["id"] for s in sites)
                and links[0]["cause"]
                == f"monitor's link: 12 of 12 sites not observable (unreachable: {reference})"
            )

        try:
            await eventually(blind, "one monitor-link incident, every site's attached")
        except AssertionError as failed:
            raise AssertionError(f"open incidents: {seen}") from failed
        assert [i["kind"] for i in seen[0]].count("group") == 0  # no district paged
        link = next(i for i in seen[0] if i["kind"] == "monitor_link")
        assert link["site_code"] == "04" and link["severity"] == "down"

        # Prometheus (whose shipped rules then mute every site alert) and the organisers'
        # summary say so too, and no site reads down where staff look: not observable.
        async def link_told() -> bool:  # the worker's metrics follow its grouping step
            return await monitor_link_seen(client, viewer) == (1.0, link["id"], 0.0)

        await eventually(link_told, "the link told by metrics and summary, no site down")
        listed = await client.get("/api/v1/sites", params={"limit": 1000}, headers=viewer)
        shown = [s for s in listed.json()["items"] if s["code"] in TWO_DISTRICTS]
        assert {(s["status"], s["observable"]) for s in shown} == {("unknown", False)}

        async def told(count: int) -> bool:
            return len(receiver.unique) >= count

        await eventually(lambda: told(1), "the cut was told", 60)
        # The cable is mended: the gateway answers, the sites come back, the incident closes.
        async with gateway(gateway_port), serving(agent_app(in_process_agents(secrets)), port):
            await eventually(all_up, "every site is up again")

            async def none_open() -> bool:
                return await open_incidents() == []

            await eventually(none_open, "the monitor-link incident closed")
            assert await monitor_link_seen(client, viewer) == (0.0, None, 0.0)

            await eventually(lambda: told(2), "the mend was told", 60)
    # No commune contact paged: one line for the monitor's link, every site folded under it.
    assert len(receiver.unique) == 2
    cut, mend = (m["data"] for m in receiver.unique.values())
    (link,) = [c for c in cut["changes"] if c["incident_kind"] == "monitor_link"]
    sites = [c for c in cut["changes"] if c is not link]
    assert {c["parent_incident_id"] for c in sites} == {link["incident_id"]}
    assert sorted(c["site"]["code"] for c in sites) == sorted(TWO_DISTRICTS)
    assert cut["subject"].startswith("[BridgeWatch] MÁY GIÁM SÁT MẤT ĐƯỜNG TRUYỀN")
    assert cut["subject"].endswith(f"(kéo theo {len(TWO_DISTRICTS)} điểm cầu)")
    # The mend: the link's line (a site slow to come back may be let go, and told on its own).
    assert [c["kind"] for c in mend["changes"] if c["incident_kind"] == "monitor_link"] == [
        "resolved"
    ]
