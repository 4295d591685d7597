"""Full checks with real agents: the engine checks the sites of a conference in pre-flight
without anyone asking (data channel, a short media check, camera and microphone as the agent
reports them), and a site that is simply up becomes ready on its own; a site that cannot be
reached gets none until it connects. An operator re-checks a site, or every site of a
conference, now: in one process, and in scale-out on the worker that holds the site."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import select, update

from app.main import create_app
from models.auth import Role, issue_token
from models.db import SessionMaker, open_database
from models.history import FullCheckResult
from models.settings import Settings
from models.site import Site, SiteStatus
from models.topology.builtin import seed_if_empty
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.databases import SQLITE_ONLY, PostgresDatabases
from tests.probing import eventually, fast, give_agent, serving
from tests.service import free_port
from tests.test_conference_metrics import series
from tests.test_probe import in_process_agents

Headers = dict[Role, dict[str, str]]
UP = "01267"  # its agent answers, with camera and microphone fine
AWAY = "01654"  # nobody answers at its address
# A short media check; heartbeats at the default pace, so that a busy test box does not make
# the site that is up miss some and start its minutes of `ready_minutes` again.
FAST_CHECKS = {
    "media_check_seconds": 1.0,
    "heartbeat_interval_seconds": 1.0,
    "heartbeat_timeout_seconds": 1.0,
}


async def up_for_a_while(sessionmaker: SessionMaker, code: str) -> None:
    """As the engine left it before a restart: up for ten minutes (the engine goes on from
    there), so the test need not wait out the minutes of `ready_minutes`."""
    async with sessionmaker() as session:
        await session.execute(
            update(Site)
            .where(Site.code == code)
            .values(status=SiteStatus.UP, status_since=datetime.now(UTC) - timedelta(minutes=10))
        )
        await session.commit()


@SQLITE_ONLY
async def test_sites_of_a_conference_in_pre_flight_are_checked_and_become_ready(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    agent = SiteAgent(
        UP,
        await give_agent(seeded, UP, f"http://127.0.0.1:{port}/{UP}"),
        rtc_configuration([]),
        lambda: Report(attendance=12, camera="ok", microphone="ok"),
    )
    await give_agent(seeded, AWAY, f"http://127.0.0.1:{free_port()}/{AWAY}")
    await up_for_a_while(seeded, UP)
    async with (
        serving(agent_app({UP: agent}), port),
        serving(create_app(fast(settings, **FAST_CHECKS))) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        opened = datetime.now(UTC)
        plan = {
            "title": "Hội nghị kiểm tra trước",
            "starts_at": (opened + timedelta(minutes=30)).isoformat(),
            "ends_at": (opened + timedelta(hours=2)).isoformat(),
            "preflight_minutes": 30,
            "ready_minutes": 1,
            "sites": [{"site_code": c, "expected_delegates": 10} for c in (UP, AWAY)],
        }
        created = await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])
        url = f"{created.headers['location']}/readiness"
        sites: dict[str, Any] = {}

        async def ready() -> bool:
            board = (await client.get(url, headers=auth[Role.VIEWER])).json()
            sites.update({s["code"]: s for s in board["sites"]})
            return bool(sites[UP]["ready"])

        try:
            # Within a minute and a half even if the busy box made it start its minute again.
            await eventually(ready, "the site that is up passes its check and is ready", 90.0)
        except AssertionError as late:
            raise AssertionError(f"{late}; the board said {sites}") from None
        check = sites[UP]["full_check"]
        assert check["passed"] and check["failed"] == ""
        assert datetime.fromisoformat(check["at"]) >= opened - timedelta(minutes=1)
        assert sites[UP]["reason"] == "up"

        async def media_stored() -> bool:
            samples = await client.get(f"/api/v1/sites/{UP}/samples", headers=auth[Role.VIEWER])
            media = [s["media"] for s in samples.json()["items"] if s.get("media")]
            return bool(media) and media[0]["frames_per_second"] > 0

        # The media check's figures go out with the next window, as any media check's do.
        await eventually(media_stored, "the full check's media figures are stored")
        metrics = (await client.get("/metrics")).text
        assert series(metrics, "bridgewatch_full_checks_total").get(("passed",), 0) >= 1
        # Nobody answers the other: no check is spent on it, and it says why it is not ready.
        assert not sites[AWAY]["ready"]
        assert sites[AWAY]["full_check"] is None
        assert sites[AWAY]["reason"].startswith("down")
    await agent.close()
    # Kept in the history too, where the report reads which check stood at the start.
    async with seeded() as session:
        history = list(await session.scalars(select(FullCheckResult)))
    assert history and history[-1].passed
    assert abs(history[-1].at - datetime.fromisoformat(check["at"])) < timedelta(milliseconds=1)


async def site(client: httpx.AsyncClient, code: str, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/api/v1/sites/{code}", headers=headers)).json()
    return body


@SQLITE_ONLY
async def test_an_operator_rechecks_a_site_or_a_whole_conference_now(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    agent = SiteAgent(
        UP,
        await give_agent(seeded, UP, f"http://127.0.0.1:{port}/{UP}"),
        rtc_configuration([]),
        lambda: Report(attendance=12, camera="ok", microphone="silent"),
    )
    await give_agent(seeded, AWAY, f"http://127.0.0.1:{free_port()}/{AWAY}")
    unprobed = "01273"  # no agent address: nobody probes it
    viewer, operator = auth[Role.VIEWER], auth[Role.OPERATOR]
    async with (
        serving(agent_app({UP: agent}), port),
        serving(create_app(fast(settings, **FAST_CHECKS))) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        await eventually(
            lambda: _status_is(client, UP, viewer, "degraded"), "the site answers (no sound)"
        )
        asked = await client.post(f"/api/v1/sites/{UP}/recheck", headers=operator)
        assert asked.status_code == 202, asked.text
        assert asked.json()["sites"] == [UP]
        requested = datetime.fromisoformat(asked.json()["requested_at"])

        async def checked_after(code: str, after: datetime) -> bool:
            check = (await site(client, code, viewer))["full_check"]
            return check is not None and datetime.fromisoformat(check["at"]) > after

        await eventually(lambda: checked_after(UP, requested), "the site gets a new full check")
        first = (await site(client, UP, viewer))["full_check"]
        # Everything answered but the room's microphone, as its agent reports it.
        assert first["passed"] is False and first["failed"] == "no sound (silent)"
        # Nobody answers at the other site's address: its check says so at once.
        assert (await client.post(f"/api/v1/sites/{AWAY}/recheck", headers=operator)).is_success
        await eventually(lambda: checked_after(AWAY, requested), "the site that is away too")
        assert (await site(client, AWAY, viewer))["full_check"]["failed"] == "no data channel"

        # A whole conference: its probed sites are asked, the others named with why.
        now = datetime.now(UTC)
        plan = {
            "title": "Hội nghị kiểm tra lại",
            "starts_at": (now + timedelta(hours=3)).isoformat(),
            "ends_at": (now + timedelta(hours=5)).isoformat(),
            "sites": [{"site_code": c} for c in (UP, AWAY, unprobed)],
        }
        created = await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])
        url = created.headers["location"]
        again = await client.post(f"{url}/recheck", headers=operator)
        assert again.status_code == 202, again.text
        assert sorted(again.json()["sites"]) == sorted([UP, AWAY])
        assert again.json()["skipped"] == [
            {"code": unprobed, "reason": "not probed (no agent address)"}
        ]
        requested_again = datetime.fromisoformat(again.json()["requested_at"])
        await eventually(lambda: checked_after(UP, requested_again), "a newer full check")
        board = (await client.get(f"{url}/readiness", headers=viewer)).json()
        on_board = {s["code"]: s for s in board["sites"]}
        assert datetime.fromisoformat(on_board[UP]["full_check"]["at"]) > requested_again

        # Refusals: a viewer, an unknown site or conference, sites nobody probes.
        refused = {
            f"/api/v1/sites/{UP}/recheck": (viewer, 403),
            "/api/v1/sites/99999/recheck": (operator, 404),
            f"/api/v1/sites/{unprobed}/recheck": (operator, 409),
            "/api/v1/conferences/999/recheck": (operator, 404),
        }
        for path, (headers, status) in refused.items():
            answer = await client.post(path, headers=headers)
            assert answer.status_code == status, (path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        assert (await client.post(f"/api/v1/sites/{UP}/recheck")).status_code == 401
        disabled = await client.patch(
            f"/api/v1/sites/{AWAY}", json={"enabled": False}, headers=operator
        )
        assert disabled.is_success
        answer = await client.post(f"/api/v1/sites/{AWAY}/recheck", headers=operator)
        assert answer.status_code == 409 and "disabled" in answer.json()["detail"]
        only_unprobed = {**plan, "sites": [{"site_code": unprobed}]}
        created = await client.post(
            "/api/v1/conferences", json=only_unprobed, headers=auth[Role.ADMIN]
        )
        answer = await client.post(f"{created.headers['location']}/recheck", headers=operator)
        assert answer.status_code == 409, answer.text
    await agent.close()


async def _status_is(
    client: httpx.AsyncClient, code: str, headers: dict[str, str], status: str
) -> bool:
    return bool((await site(client, code, headers))["status"] == status)


async def test_a_recheck_asked_of_the_api_runs_on_the_worker_holding_the_site(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    """Scale-out: the API process has no engine; the request reaches the `bridgewatch worker`
    holding the site through the site-edits notification, sooner than its periodic reload."""
    slow_ticks = 60.0  # leases renewed every 20 s: only the notice can bring the request
    async with postgres.fresh() as url, open_database(url) as sessionmaker:
        await seed_if_empty(sessionmaker, "cao-bang")
        port = free_port()
        secret = await give_agent(sessionmaker, UP, f"http://127.0.0.1:{port}/{UP}")
        async with sessionmaker() as session:
            _, token = await issue_token(session, "operator", Role.OPERATOR)
            await session.commit()
        operator = {"Authorization": f"Bearer {token}"}
        base = Settings(database_url=url, data_dir=tmp_path, auto_migrate=False, log_json=False)
        worker = fast(base, lease_seconds=slow_ticks, **FAST_CHECKS)
        api = base.model_copy(update={"engine": False, "seed_topology": ""})
        agents = in_process_agents({UP: secret})

        async def last_check() -> datetime | None:
            async with sessionmaker() as session:
                return await session.scalar(select(Site.full_check_at).where(Site.code == UP))

        async def up() -> bool:
            async with sessionmaker() as session:
                status = await session.scalar(select(Site.status).where(Site.code == UP))
            return status is SiteStatus.UP

        try:
            async with (
                serving(agent_app(agents), port),
                LifespanManager(create_app(worker, worker=True)),
                serving(create_app(api)) as api_base,
                httpx.AsyncClient(base_url=api_base, timeout=10) as client,
            ):
                await eventually(up, "the worker probes the site")
                assert await last_check() is None  # no conference: nothing checked on its own
                asked = await client.post(f"/api/v1/sites/{UP}/recheck", headers=operator)
                assert asked.status_code == 202, asked.text

                async def checked() -> bool:
                    return await last_check() is not None

                # Within the worker's periodic reload (10 s) and the check's own seconds.
                await eventually(checked, "the worker ran the full check", deadline=8.0)
                async with sessionmaker() as session:
                    passed = await session.scalar(
                        select(Site.full_check_passed).where(Site.code == UP)
                    )
                assert passed is True
        finally:
            await agents[UP].close()
