"""The optional media check: real test video both ways, measured as a delegate would feel it."""

import httpx

from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.settings import Settings
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.simulation.link import ImpairedPath, Impairment
from monitor.wire.ice import rtc_configuration
from tests.databases import SQLITE_ONLY
from tests.probing import eventually, fast, give_agent, serving
from tests.service import free_port

pytestmark = SQLITE_ONLY

Headers = dict[Role, dict[str, str]]


async def test_media_checks_measure_video_and_the_path_it_crosses(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    clean_port, lossy_port = free_port(), free_port()
    rtc = rtc_configuration([])
    clean = SiteAgent(
        "040", await give_agent(seeded, "040", f"http://127.0.0.1:{clean_port}/040"), rtc
    )
    lossy = SiteAgent(
        "042",
        await give_agent(seeded, "042", f"http://127.0.0.1:{lossy_port}/042"),
        rtc,
        detour=ImpairedPath(Impairment(loss=0.05, delay_seconds=0.1)),
    )
    media: dict[str, dict[str, float]] = {}
    checks = fast(settings, media_check_interval_seconds=3.0, media_check_seconds=3.0)
    try:
        async with (
            serving(agent_app({"040": clean}), clean_port),
            serving(agent_app({"042": lossy}), lossy_port),
            serving(create_app(checks)) as base,
            httpx.AsyncClient(base_url=base, timeout=10, headers=auth[Role.VIEWER]) as client,
        ):

            async def both_measured() -> bool:
                for code in ("040", "042"):
                    samples = (await client.get(f"/api/v1/sites/{code}/samples")).json()["items"]
                    # RTCP receiver reports come every few seconds: wait for a check that had one.
                    found = [
                        s["media"]
                        for s in samples
                        if s["media"]
                        and "error" not in s["media"]
                        and (code == "040" or s["media"].get("rtcp_rtt_seconds") is not None)
                    ]
                    if found:
                        media[code] = found[0]
                return len(media) == 2

            await eventually(both_measured, "a media check of each site")
    finally:
        await clean.close()
        await lossy.close()
    assert media["040"]["frames_per_second"] >= 3  # 10 fps sent; a busy box may drop some
    assert media["040"]["bitrate_bits_per_second"] > 10_000
    assert media["040"]["packets_lost"] == 0
    # 100 ms each way through the relay: RTCP sees the round trip; NACKs repair most loss.
    assert media["042"]["rtcp_rtt_seconds"] >= 0.18 and media["042"]["frames_per_second"] > 0
