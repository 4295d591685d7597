"""The probe engine against real agents over real WebRTC on loopback.

Agents run in this process (served by uvicorn on real sockets) or as separate `bridgewatch agent`
processes when the test must kill one.
"""

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.history import Sample, StatusChange
from models.incident import Incident
from models.settings import Settings
from models.site import ProbeMode, Site, SiteStatus
from monitor.agent.http import agent_app
from monitor.agent.site_agent import IDLE_TIMEOUT_SECONDS, SiteAgent
from monitor.simulation.link import BLACKHOLE, ImpairedPath, Impairment
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.databases import SQLITE_ONLY
from tests.probing import data_channel_offer, eventually, fast, give_agent, serving, site_status
from tests.service import free_port

Headers = dict[Role, dict[str, str]]


@asynccontextmanager
async def service(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(create_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@contextmanager
def agent_process(
    code: str, secret: str, port: int, folder: Path, monitor: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`bridgewatch agent` in its own process: listening on `port`, or dialling `monitor`."""
    env = {
        **os.environ,
        "BRIDGEWATCH_AGENT_SECRET": secret,
        "BRIDGEWATCH_ICE_HOST_ADDRESSES": '["127.0.0.1"]',
    }
    command = [
        sys.executable,
        "-m",
        "app",
        "agent",
        "--site",
        code,
        *(["--monitor", monitor] if monitor else ["--listen", f"127.0.0.1:{port}"]),
    ]
    with (folder / f"agent-{code}.log").open("ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=30)


def seeing_requests(app: ASGIApp, seen: Callable[[str], None]) -> ASGIApp:
    """`app`, telling `seen` the method of each HTTP request before serving it."""

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seen(scope["method"])
        await app(scope, receive, send)

    return served


async def agent_ready(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


def in_process_agents(
    secrets: dict[str, str], impairment: Impairment | None = None
) -> dict[str, SiteAgent]:
    rtc = rtc_configuration([])
    return {
        code: SiteAgent(
            code,
            secret,
            rtc,
            lambda: Report(attendance=12),
            ImpairedPath(impairment) if impairment else None,
        )
        for code, secret in secrets.items()
    }


@SQLITE_ONLY
@pytest.mark.parametrize("liveness", ["echo", "stun"])
async def test_a_killed_agent_goes_down_within_seconds_and_comes_back(
    settings: Settings,
    seeded: SessionMaker,
    auth: Headers,
    tmp_path: Path,
    liveness: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="monitor.probe.site_probe")
    port = free_port()
    secret = await give_agent(seeded, "01267", f"http://127.0.0.1:{port}/01267")
    viewer = auth[Role.VIEWER]
    with agent_process("01267", secret, port, tmp_path) as agent:
        await eventually(lambda: agent_ready(port), "the agent listens")
        async with service(fast(settings, liveness=liveness)) as client:

            async def status_is(wanted: SiteStatus) -> bool:
                return await site_status(client, "01267", viewer) == wanted

            await eventually(lambda: status_is(SiteStatus.UP), "the site is up")
            agent.send_signal(signal.SIGKILL)
            took = await eventually(lambda: status_is(SiteStatus.DOWN), "the site is down")
            # 3 missed heartbeats at 2 Hz plus their 0.5 s timeout is ~2 s; allow for a busy
            # box and the recorder's batching, but a dead site must be flagged within seconds.
            assert took < 10, took
            site = (await client.get("/api/v1/sites/01267", headers=viewer)).json()
            assert site["status_reason"] == "3 heartbeats missed"
            # The log says what the site was judged on: its last answer older than its timeout.
            [lost] = [r.__dict__ for r in caplog.records if r.getMessage() == "heartbeats lost"]
            assert lost["site"] == "01267"
            if liveness == "stun":
                assert lost["newest_answered_sent_s_ago"] > lost["timeout_ms"] / 1000 > 0
            incidents = (await client.get("/api/v1/incidents", headers=viewer)).json()["items"]
            assert [(i["site_code"], i["severity"], i["closed_at"]) for i in incidents] == [
                ("01267", "down", None)
            ]
            with agent_process("01267", secret, port, tmp_path):
                await eventually(lambda: status_is(SiteStatus.UP), "the site is up again")
            await check_history(client, viewer)


@SQLITE_ONLY
@pytest.mark.parametrize("liveness", ["echo", "stun"])
async def test_a_killed_push_agent_goes_down_within_seconds_and_comes_back(
    settings: Settings, seeded: SessionMaker, auth: Headers, tmp_path: Path, liveness: str
) -> None:
    secret = await give_agent(seeded, "043", None, ProbeMode.PUSH)
    viewer = auth[Role.VIEWER]
    async with (
        serving(create_app(fast(settings, liveness=liveness))) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        with agent_process("043", secret, 0, tmp_path, base) as agent:
            await eventually(lambda: _is(client, "043", viewer, SiteStatus.UP), "the site is up")
            agent.send_signal(signal.SIGKILL)
            took = await eventually(lambda: _is(client, "043", viewer, SiteStatus.DOWN), "down")
            assert took < 10, took
            site = (await client.get("/api/v1/sites/043", headers=viewer)).json()
            # The heartbeat noticed, not the grace time for an agent that has not dialled in.
            assert site["status_reason"] == "3 heartbeats missed"
        with agent_process("043", secret, 0, tmp_path, base):
            await eventually(lambda: _is(client, "043", viewer, SiteStatus.UP), "up again")


async def check_history(client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    closed = (await client.get("/api/v1/incidents", headers=viewer)).json()["items"][0]
    assert closed["closed_at"] is not None and closed["duration_seconds"] > 0
    samples = (await client.get("/api/v1/sites/01267/samples", headers=viewer)).json()
    assert any(not s["reachable"] and s["error_class"] for s in samples["items"])
    answered = [s for s in samples["items"] if s["reachable"]]
    assert answered and all(s["rtt_median_seconds"] > 0 for s in answered)
    assert answered[0]["attendance"] is None  # this agent reports no attendance


@SQLITE_ONLY
async def test_loss_and_delay_on_the_path_degrade_a_site_but_never_down_it(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    secret = await give_agent(seeded, "040", f"http://127.0.0.1:{port}/040")
    # 200 ms each way through a userspace relay: RTT ~400 ms, over the 300 ms threshold.
    agents = in_process_agents({"040": secret}, Impairment(loss=0.01, delay_seconds=0.2))
    viewer = auth[Role.VIEWER]
    # Timeouts as far above this link's figures as the defaults are above a normal link's: a
    # 1.5 s heartbeat timeout (FAST's 0.5 s leaves 100 ms over the RTT) and the default 15 s
    # set-up (ICE, DTLS and SCTP take many 400 ms round trips, and a lost handshake packet is
    # resent after a second or more): CI runs saw a down with FAST's values.
    slow_link = fast(settings, heartbeat_timeout_seconds=1.5, setup_timeout_seconds=15.0)
    try:
        async with serving(agent_app(agents), port), service(slow_link) as client:

            async def degraded() -> bool:
                return await site_status(client, "040", viewer) == SiteStatus.DEGRADED

            first_seen: list[dict[str, Any]] = []

            async def incident_open() -> bool:
                listed = await client.get("/api/v1/incidents?open=true", headers=viewer)
                first_seen.extend(listed.json()["items"])
                return bool(first_seen)

            await eventually(incident_open, "an incident is open")
            await eventually(degraded, "the site is degraded")
            await asyncio.sleep(5)  # several more windows on the bad link
            assert await degraded()
            samples = (await client.get("/api/v1/sites/040/samples", headers=viewer)).json()
    finally:
        await agents["040"].close()
    reachable = [s for s in samples["items"] if s["reachable"]]
    assert reachable and all(s["rtt_median_seconds"] >= 0.35 for s in reachable)
    assert all(s["mos"] < 4.4 for s in reachable)
    async with seeded() as session:
        downs = (
            await session.scalars(
                select(StatusChange.reason).where(StatusChange.new_status == SiteStatus.DOWN)
            )
        ).all()
        incident = await session.scalar(select(Incident))
        episode = (await session.scalars(select(Sample).order_by(Sample.at))).all()
    assert downs == []
    # The window that opened the incident counts: its figures are there from the first moment
    # the incident can be seen, and the worst figures are those of the episode's worst window.
    opening = first_seen[0]
    assert opening["worst_rtt_seconds"] is not None and opening["worst_mos"] is not None
    assert incident is not None and incident.closed_at is None
    windows = [s for s in episode if s.at >= incident.opened_at and s.reachable]
    assert windows[0].at == incident.opened_at
    assert incident.worst_mos == min(s.mos for s in windows if s.mos is not None)
    assert incident.worst_rtt_seconds == max(
        s.rtt_median_seconds for s in windows if s.rtt_median_seconds is not None
    )


@SQLITE_ONLY
async def test_a_stopping_monitor_ends_its_agents_sessions_before_their_idle_limit(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    """A monitor stopping (a restart, a rolling update) closes its connections, and each agent
    ends its session then, ready for the next offer, rather than 10 s later on its own."""
    port = free_port()
    codes = ["040", "01267"]
    secrets = {c: await give_agent(seeded, c, f"http://127.0.0.1:{port}/{c}") for c in codes}
    agents = in_process_agents(secrets)
    viewer = auth[Role.VIEWER]

    async def sessions_ended() -> bool:
        return not any(agent.sessions for agent in agents.values())

    try:
        async with serving(agent_app(agents), port):
            async with service(fast(settings)) as client:

                async def all_up() -> bool:
                    statuses = [await site_status(client, c, viewer) for c in codes]
                    return statuses == [SiteStatus.UP] * len(codes)

                await eventually(all_up, "the sites are up")
                assert not await sessions_ended()
            await eventually(sessions_ended, "the sessions ended", IDLE_TIMEOUT_SECONDS - 2)
    finally:
        await asyncio.gather(*(agent.close() for agent in agents.values()))


@SQLITE_ONLY
async def test_a_cut_link_is_dialled_again_with_no_request_to_end_the_lost_session(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    """A site whose link is lost is offered a new session at once. Its agent is not asked to
    end the lost one: over a cut link that request waits out its timeout before the site is
    dialled again, and when a whole network drops, thousands of them queue in the monitor's
    HTTP client. The agent ends a session that hears no ping by itself."""
    port = free_port()
    secret = await give_agent(seeded, "01267", f"http://127.0.0.1:{port}/01267")
    path = ImpairedPath()
    agent = SiteAgent("01267", secret, rtc_configuration([]), detour=path)
    requests: list[str] = []
    viewer = auth[Role.VIEWER]
    try:
        async with (
            serving(seeing_requests(agent_app({"01267": agent}), requests.append), port),
            service(fast(settings)) as client,
        ):

            async def status_is(wanted: SiteStatus) -> bool:
                return await site_status(client, "01267", viewer) == wanted

            await eventually(lambda: status_is(SiteStatus.UP), "the site is up")
            path.impairment = BLACKHOLE
            await eventually(lambda: status_is(SiteStatus.DOWN), "the site is down")
            offers = requests.count("POST")

            async def offered_again() -> bool:
                return requests.count("POST") > offers

            await eventually(offered_again, "a new session is offered while the link is out")
            path.impairment = Impairment.NONE
            await eventually(lambda: status_is(SiteStatus.UP), "the site is up again")
    finally:
        await agent.close()
    assert "DELETE" not in requests, requests


@SQLITE_ONLY
async def test_a_set_up_that_runs_out_of_time_with_a_live_agent_is_tried_again_before_down(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    """The agent answers the offer, but its link loses the handshakes until the set-up timeout
    (on a lossy link, SCTP's first retransmission alone waits 3 s). The site is dialled again,
    and comes up, without ever being shown down."""
    port = free_port()
    secret = await give_agent(seeded, "01267", f"http://127.0.0.1:{port}/01267")
    path = ImpairedPath(BLACKHOLE)
    agent = SiteAgent("01267", secret, rtc_configuration([]), detour=path)
    requests: list[str] = []

    def heal_at_second_offer(method: str) -> None:
        requests.append(method)
        if requests.count("POST") == 2:
            path.impairment = Impairment.NONE

    viewer = auth[Role.VIEWER]
    try:
        async with (
            serving(seeing_requests(agent_app({"01267": agent}), heal_at_second_offer), port),
            service(fast(settings)) as client,
        ):

            async def up() -> bool:
                return await site_status(client, "01267", viewer) == SiteStatus.UP

            await eventually(up, "the site is up")
    finally:
        await agent.close()
    async with seeded() as session:
        became = list(
            await session.scalars(
                select(StatusChange.new_status).join(Site).where(Site.code == "01267")
            )
        )
    assert requests.count("POST") >= 2 and became == [SiteStatus.UP], (requests, became)


@SQLITE_ONLY
async def test_hung_agents_go_down_without_delaying_healthy_sites(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    async with seeded() as session:
        known = set(await session.scalars(select(Site.code).where(Site.level == "commune")))
    healthy_codes = sorted(known)[:20]
    port, blackhole_port, silent_port = free_port(), free_port(), free_port()
    secrets = {
        code: await give_agent(seeded, code, f"http://127.0.0.1:{port}/{code}")
        for code in healthy_codes
    }
    blackhole_secret = await give_agent(seeded, "040", f"http://127.0.0.1:{blackhole_port}/040")
    await give_agent(seeded, "042", f"http://127.0.0.1:{silent_port}/042")

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)  # accepts the connection, reads nothing, answers nothing

    silent = await asyncio.start_server(never_answer, "127.0.0.1", silent_port)
    healthy = in_process_agents(secrets)
    blackhole = in_process_agents({"040": blackhole_secret}, Impairment(loss=1.0))
    viewer = auth[Role.VIEWER]
    try:
        async with (
            serving(agent_app(healthy), port),
            serving(agent_app(blackhole), blackhole_port),
            service(fast(settings, setup_timeout_seconds=3.0)) as client,
        ):

            async def all_settled() -> bool:
                sites = (await client.get("/api/v1/sites", headers=viewer)).json()["items"]
                status = {s["code"]: s["status"] for s in sites}
                return status["040"] == status["042"] == "down" and all(
                    status[code] == "up" for code in healthy_codes
                )

            await eventually(all_settled, "hung sites down, healthy sites up")
            await asyncio.sleep(4)  # several windows while the hung sites keep failing
    finally:
        silent.close()
        for agent in [*healthy.values(), *blackhole.values()]:
            await agent.close()
    async with seeded() as session:
        rows = (
            await session.execute(
                select(Site.code, Sample.loss_ratio, Sample.reachable)
                .join(Sample, Sample.site_id == Site.id)
                .where(Site.code.in_(healthy_codes))
            )
        ).all()
        errors = set(
            await session.scalars(
                select(Sample.error_class).join(Site).where(Site.code.in_(["040", "042"]))
            )
        )
    # Once up, no healthy site missed a single heartbeat while its neighbours hung.
    answered = [loss for _code, loss, reachable in rows if reachable]
    assert len(answered) >= 20 * 3 and all(loss == 0 for loss in answered), answered
    assert "setup_timeout" in errors


@SQLITE_ONLY
async def test_push_mode_and_who_may_dial_in(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    secret = await give_agent(seeded, "043", None, ProbeMode.PUSH)
    foreign = await give_agent(seeded, "045", None, ProbeMode.PUSH)
    await give_agent(seeded, "047", "http://127.0.0.1:9/047")  # a pull site
    viewer = auth[Role.VIEWER]
    agent = in_process_agents({"043": secret})["043"]
    port = free_port()
    async with (
        serving(create_app(fast(settings)), port) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        url = "/api/v1/agents/043/sessions"
        offer = await data_channel_offer()
        refusals = [
            (await _dial(client, url, offer, "bws_wrong"), 401),
            (await _dial(client, url, offer, foreign), 403),
            (await _dial(client, "/api/v1/agents/NOPE/sessions", offer, secret), 404),
            (await _dial(client, url, "v=0\r\nnonsense", secret), 400),
            (await _dial(client, url, offer, secret, content_type="text/plain"), 415),
            (
                await _dial(client, "/api/v1/agents/047/sessions", offer, await _secret_of(seeded)),
                409,
            ),
        ]
        assert [(r.status_code, r.headers["content-type"]) for r, _status in refusals] == [
            (status, "application/problem+json") for _, status in refusals
        ]
        pushing = asyncio.create_task(agent.push_forever(f"{base}{url}", client))
        try:
            await eventually(
                lambda: _is(client, "043", viewer, SiteStatus.UP), "the push site is up"
            )
            assert await site_status(client, "045", viewer) != SiteStatus.UP
        finally:
            pushing.cancel()
            await agent.close()
        # The agent is gone: no pings answered, the site goes down.
        await eventually(lambda: _is(client, "043", viewer, SiteStatus.DOWN), "push site down")


async def _is(client: httpx.AsyncClient, code: str, headers: dict[str, str], wanted: str) -> bool:
    return await site_status(client, code, headers) == wanted


async def _secret_of(sessionmaker: SessionMaker) -> str:
    return await give_agent(sessionmaker, "047", "http://127.0.0.1:9/047")


async def _dial(
    client: httpx.AsyncClient,
    url: str,
    offer: str,
    secret: str,
    content_type: str = "application/sdp",
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": content_type}
    return await client.post(url, content=offer.encode(), headers=headers)


async def test_a_restart_keeps_history_status_and_open_incidents(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    secret = await give_agent(seeded, "048", f"http://127.0.0.1:{port}/048")
    viewer = auth[Role.VIEWER]
    agents = in_process_agents({"048": secret})
    async with serving(agent_app(agents), port), service(fast(settings)) as client:
        await eventually(lambda: _is(client, "048", viewer, SiteStatus.UP), "up")
    await agents["048"].close()
    async with service(fast(settings)) as client:
        await eventually(lambda: _is(client, "048", viewer, SiteStatus.DOWN), "down")
        before = (await client.get("/api/v1/sites/048/samples", headers=viewer)).json()["items"]
        opened = (await client.get("/api/v1/incidents", headers=viewer)).json()["items"]
    # Stopped while down: the open incident and every sample survive the restart ...
    async with service(fast(settings, engine=False)) as client:
        after = (await client.get("/api/v1/sites/048/samples", headers=viewer)).json()["items"]
        kept = (await client.get("/api/v1/incidents", headers=viewer)).json()["items"]
        status = await site_status(client, "048", viewer)
    assert {s["at"] for s in before} <= {s["at"] for s in after}
    assert [(i["id"], i["closed_at"]) for i in opened] == [(kept[0]["id"], None)]
    assert status == SiteStatus.DOWN
    # ... and the engine restarts from the last known status, not from `unknown`.
    async with service(fast(settings)) as client, seeded() as session:
        await asyncio.sleep(3)
        changes = list(await session.scalars(select(StatusChange.old_status)))
    assert SiteStatus.UNKNOWN not in changes[1:]
