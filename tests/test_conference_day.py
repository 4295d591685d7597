"""A scripted conference day with real agents on the real database (SQLite and PostgreSQL):
pre-flight with one site never connected and one without picture, both not ready with their
reasons; live; every agent of one district killed for a measured time and started again; end.
The report's downtime per killed site matches what the test did, within one heartbeat plus the
down threshold; the delegates present add up to what was reported and typed."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.settings import Settings
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import CameraVerdict, Report
from tests.probing import eventually, fast, give_agent, serving
from tests.service import free_port

Headers = dict[Role, dict[str, str]]
KILLED = {"01267": 20, "01270": 18}  # district 040 (Thành phố Cao Bằng): agent programs
STAYING = {"01654": 15, "01657": 12}  # district 051 (Huyện Hòa An): in this process
NEVER = "01660"  # district 051: nobody answers at its address
TYPED = 7  # the operator types the delegates of the site that never connected


def room(code: str, present: int) -> Callable[[], Report]:
    """What a site's agent reports: 01657's camera shows a black picture."""
    camera: CameraVerdict = "black" if code == "01657" else "ok"
    return lambda: Report(attendance=present, camera=camera, microphone="ok")


@contextlib.contextmanager
def agent_program(code: str, secret: str, port: int, present: int, folder: Path) -> Iterator[None]:
    env = {
        **os.environ,
        "BRIDGEWATCH_AGENT_SECRET": secret,
        "BRIDGEWATCH_ICE_HOST_ADDRESSES": '["127.0.0.1"]',
    }
    command = [sys.executable, "-m", "app", "agent", "--site", code]
    command += ["--listen", f"127.0.0.1:{port}", "--attendance", str(present)]
    with (folder / f"agent-{code}.log").open("ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        process.send_signal(signal.SIGKILL)  # as a power cut at the commune would
        process.wait(timeout=30)


async def test_a_conference_day(
    settings: Settings, seeded: SessionMaker, auth: Headers, tmp_path: Path
) -> None:
    ports = {code: free_port() for code in KILLED}
    staying_port = free_port()
    secrets = {
        code: await give_agent(seeded, code, f"http://127.0.0.1:{ports[code]}/{code}")
        for code in KILLED
    }
    staying = {
        code: SiteAgent(
            code,
            await give_agent(seeded, code, f"http://127.0.0.1:{staying_port}/{code}"),
            rtc_configuration([]),
            room(code, n),
        )
        for code, n in STAYING.items()
    }
    await give_agent(seeded, NEVER, f"http://127.0.0.1:{free_port()}/{NEVER}")
    viewer, operator = auth[Role.VIEWER], auth[Role.OPERATOR]
    programs = contextlib.ExitStack()

    def start_district() -> None:
        for code, present in KILLED.items():
            programs.enter_context(
                agent_program(code, secrets[code], ports[code], present, tmp_path)
            )

    checks = fast(settings)
    # A killed site is down after its missed heartbeats; the test sees it back up within a
    # heartbeat and its own polling step after the status says so.
    down_after = (
        checks.heartbeat_interval_seconds * checks.missed_heartbeats_to_down
        + checks.heartbeat_timeout_seconds
    )
    slack = checks.heartbeat_interval_seconds + 0.5
    async with (
        serving(agent_app(staying), staying_port),
        serving(create_app(checks)) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        start_district()
        try:
            now = datetime.now(UTC)
            expected = {**KILLED, **STAYING, NEVER: 10}
            plan = {
                "title": "Hội nghị trực tuyến tỉnh Cao Bằng",
                "starts_at": (now + timedelta(minutes=30)).isoformat(),
                "ends_at": (now + timedelta(hours=3)).isoformat(),
                "ready_minutes": 1,
                "sites": [{"site_code": c, "expected_delegates": n} for c, n in expected.items()],
            }
            created = await client.post("/api/v1/conferences", json=plan, headers=auth[Role.ADMIN])
            url = created.headers["location"]
            assert created.json()["phase"] == "preflight"

            async def status(code: str) -> str:
                body = (await client.get(f"/api/v1/sites/{code}", headers=viewer)).json()
                return str(body["status"])

            async def settled() -> bool:
                states = [await status(code) for code in [*KILLED, *STAYING, NEVER]]
                return states == ["up", "up", "up", "degraded", "down"]

            await eventually(settled, "four sites answer, one with a black picture, one never")
            board = (await client.get(f"{url}/readiness", headers=viewer)).json()
            reasons = {s["code"]: s["reason"] for s in board["sites"] if not s["ready"]}
            assert reasons[NEVER] == "down: never connected"
            assert reasons["01657"] == "degraded: no picture (black)"

            started = await client.post(f"{url}/start", headers=operator)
            assert started.json()["phase"] == "live"
            typed = await client.put(
                f"/api/v1/sites/{NEVER}/attendance", json={"present": TYPED}, headers=operator
            )
            assert typed.status_code == 200

            # The district's agents die together, stay dead a while, and come back.
            programs.close()
            killed_at = time.monotonic()
            await asyncio.sleep(6)
            start_district()
            back: dict[str, float] = {}

            async def district_back() -> bool:
                for code in KILLED:
                    if code not in back and await status(code) == "up":
                        back[code] = time.monotonic() - killed_at
                return len(back) == len(KILLED)

            await eventually(district_back, "the district's sites are up again")
            await asyncio.sleep(2)  # a little more conference
            ended = await client.post(f"{url}/end", headers=operator)
            assert ended.json()["phase"] == "ended"
        finally:
            programs.close()

        report = (await client.get(f"{url}/report", headers=viewer)).json()
        sites = {s["code"]: s for d in report["districts"] for s in d["sites"]}
        for code, measured in back.items():
            down = sites[code]["seconds"]["down"]
            # Down from the third missed heartbeat until it was up again.
            assert measured - down_after - slack <= down <= measured, (code, down, measured)
            assert [i["severity"] for i in sites[code]["incidents"]] == ["down"]
        assert sites["01654"]["seconds"]["down"] == 0
        assert sites["01657"]["seconds"]["degraded"] > 0 and sites["01657"]["uptime_ratio"] == 1
        assert sites[NEVER]["uptime_ratio"] == 0
        downtime = [d["totals"]["seconds"]["down"] for d in report["districts"]]
        assert downtime == sorted(downtime, reverse=True)  # the most downtime first
        assert (
            report["totals"]["attendance"] == sum(KILLED.values()) + sum(STAYING.values()) + TYPED
        )
        assert report["totals"]["expected_delegates"] == sum(expected.values())
        roll = (await client.get(f"{url}/attendance", headers=viewer)).json()
        assert (roll["present"], roll["sites_reported"]) == (report["totals"]["attendance"], 5)
