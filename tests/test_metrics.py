"""/metrics as an operator's Prometheus sees it: valid, escaped, current, and alerting."""

import asyncio
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import update

from app.main import create_app
from models.auth import Role
from models.db import SessionMaker
from models.settings import Settings
from models.site import Site
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.databases import SQLITE_ONLY
from tests.probing import eventually, fast, give_agent, serving
from tests.prom import DEPLOY, alertmanager, prometheus, query, tool
from tests.service import free_port

Headers = dict[Role, dict[str, str]]
ODD_NAME = 'Xã "Sông" \\ Hiến\nmới'


def agents_for(secrets: dict[str, str]) -> dict[str, SiteAgent]:
    rtc = rtc_configuration([])
    return {
        code: SiteAgent(code, secret, rtc, lambda: Report(attendance=21))
        for code, secret in secrets.items()
    }


def samples(text: str, name: str) -> dict[str, float]:
    """site -> value of metric `name` in an exposition."""
    return {
        s.labels["site"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def test_scrape_is_valid_escaped_current_and_forgets_deleted_sites(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    port = free_port()
    secrets = {
        code: await give_agent(seeded, code, f"http://127.0.0.1:{port}/{code}")
        for code in ("01267", "01270", "01273")
    }
    async with seeded() as session:
        await session.execute(update(Site).where(Site.code == "01267").values(name=ODD_NAME))
        await session.commit()
    agents = agents_for(secrets)
    operator = auth[Role.OPERATOR]
    try:
        async with (
            serving(agent_app(agents), port),
            serving(create_app(fast(settings))) as base,
            httpx.AsyncClient(base_url=base, timeout=10) as client,
        ):

            async def all_up() -> bool:
                text = (await client.get("/metrics")).text
                return samples(text, "bridgewatch_site_up") == dict.fromkeys(secrets, 1.0) and (
                    len(samples(text, "bridgewatch_site_rtt_seconds")) == 3
                )

            await eventually(all_up, "three sites up with figures")
            text = (await client.get("/metrics")).text
            promtool = await asyncio.create_subprocess_exec(
                tool("promtool"),
                "check",
                "metrics",
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            report, _ = await asyncio.wait_for(promtool.communicate(text.encode()), 60)
            assert promtool.returncode == 0 and report == b"", report
            info = [
                s.labels
                for f in text_string_to_metric_families(text)
                for s in f.samples
                if s.name == "bridgewatch_site_info"
            ]
            assert {"site": "01267", "name": ODD_NAME, "level": "commune", "parent": "040"} in info
            assert samples(text, "bridgewatch_site_attendance") == dict.fromkeys(secrets, 21.0)
            assert all(0 < v < 1 for v in samples(text, "bridgewatch_site_rtt_seconds").values())
            assert "bridgewatch_build_info{" in text and "process_cpu_seconds_total" in text

            assert (await client.delete("/api/v1/sites/01273", headers=operator)).status_code == 204

            async def forgotten() -> bool:
                return "01273" not in samples(
                    (await client.get("/metrics")).text, "bridgewatch_site_up"
                )

            await eventually(forgotten, "the deleted site leaves /metrics")

            odd = await client.get("/metrics?format=xml&x=%01", headers={"Accept": "*/*;q=x"})
            assert odd.status_code == 200 and "bridgewatch_site_up" in odd.text
            nul = await client.get("/metrics?x=%00")  # refused at the edge, as everywhere
            assert nul.status_code == 400
            open_metrics = await client.get(
                "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
            )
            assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
            assert open_metrics.text.endswith("# EOF\n")
    finally:
        for agent in agents.values():
            await agent.close()


async def test_metrics_token(settings: Settings, seeded: SessionMaker) -> None:
    protected = settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})
    async with serving(create_app(protected)) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert right.status_code == 200 and "bridgewatch_build_info" in right.text


async def test_a_metrics_token_set_to_nothing_is_no_token(
    settings: Settings, seeded: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blank `BRIDGEWATCH_METRICS_TOKEN=` line in an env file leaves /metrics open, as if it
    were not there, rather than asking for an empty bearer no Prometheus can send."""
    monkeypatch.setenv("BRIDGEWATCH_METRICS_TOKEN", "")
    from_env = settings.model_copy(update={"metrics_token": Settings().metrics_token})
    async with serving(create_app(from_env)) as base, httpx.AsyncClient(base_url=base) as client:
        scraped = await client.get("/metrics")
    assert scraped.status_code == 200 and "bridgewatch_build_info" in scraped.text


@SQLITE_ONLY
async def test_real_prometheus_sees_every_probed_site_and_a_lost_one(
    settings: Settings, seeded: SessionMaker, tmp_path: Path
) -> None:
    port, victim_port, service_port = free_port(), free_port(), free_port()
    healthy = {
        code: await give_agent(seeded, code, f"http://127.0.0.1:{port}/{code}")
        for code in ("01267", "01270")
    }
    victim = {"01273": await give_agent(seeded, "01273", f"http://127.0.0.1:{victim_port}/01273")}
    agents, victims = agents_for(healthy), agents_for(victim)
    try:
        async with (
            serving(agent_app(agents), port),
            serving(create_app(fast(settings)), service_port),
            httpx.AsyncClient(timeout=10) as client,
        ):
            with prometheus(f"127.0.0.1:{service_port}", tmp_path) as prom:
                async with serving(agent_app(victims), victim_port):

                    async def three_up() -> bool:
                        up = await query(client, prom, "sum(bridgewatch_site_up)")
                        count = await query(client, prom, "count(bridgewatch_site_up)")
                        return (
                            bool(up and count) and up[0]["value"][1] == count[0]["value"][1] == "3"
                        )

                    await eventually(three_up, "Prometheus sees 3 sites up")
                await victims["01273"].close()  # the agent and its server are gone

                async def victim_down() -> bool:
                    result = await query(client, prom, 'bridgewatch_site_up{site="01273"}')
                    return bool(result) and result[0]["value"][1] == "0"

                await eventually(victim_down, "Prometheus sees the lost site at 0")
                rules = (await client.get(f"{prom}/api/v1/rules")).json()["data"]["groups"]
                loaded = [rule for group in rules for rule in group["rules"]]
                shipped = (DEPLOY / "prometheus" / "alerts.yml").read_text()
                assert len(loaded) == shipped.count("- alert: ") >= 8
                assert all(rule["health"] != "err" and not rule.get("lastError") for rule in loaded)
                for expr in grafana_queries():
                    await query(client, prom, expr)  # every dashboard query is valid PromQL
    finally:
        for agent in [*agents.values(), *victims.values()]:
            await agent.close()


def grafana_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "bridgewatch.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return [e.replace("$site", ".*").replace("$__rate_interval", "1m") for e in exprs]


def alert(name: str, **labels: str) -> dict[str, Any]:
    """An alert as Prometheus posts it to Alertmanager, firing for the next ten minutes."""
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, "severity": "critical", **labels},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=10)).isoformat(),
    }


async def alert_states(
    client: httpx.AsyncClient, name: Callable[[dict[str, str]], str]
) -> dict[str, str]:
    """The state of each alert Alertmanager holds, by `name` of its labels."""
    found = (await client.get("/api/v2/alerts")).json()
    return {name(a["labels"]): a["status"]["state"] for a in found}


async def test_alertmanager_mutes_communes_while_their_district_is_down(tmp_path: Path) -> None:
    alerts = [
        alert("BridgeWatchDistrictOutage", parent="051"),
        alert("BridgeWatchSiteDown", site="01600", level="commune", parent="051"),
        alert("BridgeWatchSiteDown", site="01267", level="commune", parent="040"),
        alert("BridgeWatchSiteDown", site="051", level="district", parent="04"),
    ]
    with alertmanager(tmp_path) as am:
        async with httpx.AsyncClient(base_url=am, timeout=10) as client:
            assert (await client.post("/api/v2/alerts", json=alerts)).status_code == 200

            async def states() -> dict[str, str]:
                return await alert_states(client, lambda labels: labels.get("site", "district 051"))

            async def settled() -> bool:
                return (await states()).get("01600") == "suppressed"

            await eventually(settled, "the commune alert of the down district is muted")
            await asyncio.sleep(0)
            assert await states() == {
                "district 051": "active",
                "01600": "suppressed",
                "01267": "active",
                "051": "active",
            }


async def test_alertmanager_mutes_every_site_while_the_monitors_link_is_down(
    tmp_path: Path,
) -> None:
    job = {"job": "bridgewatch", "instance": "bw:8000"}
    alerts = [
        alert("BridgeWatchMonitorLinkDown", kind="monitor_link", **job),
        alert("BridgeWatchDistrictOutage", parent="051"),
        alert("BridgeWatchSiteDown", site="01600", level="commune", parent="051", **job),
        alert("BridgeWatchSiteDown", site="051", level="district", parent="04", **job),
        alert("BridgeWatchSiteDegraded", site="01267", level="commune", parent="040", **job),
        alert("BridgeWatchEventLoopLagging", **job),  # the monitor's own health still pages
    ]
    with alertmanager(tmp_path) as am:
        async with httpx.AsyncClient(base_url=am, timeout=10) as client:
            assert (await client.post("/api/v2/alerts", json=alerts)).status_code == 200

            async def states() -> dict[str, str]:
                return await alert_states(
                    client, lambda labels: labels.get("site", labels["alertname"])
                )

            async def settled() -> bool:
                return len(await states()) == len(alerts) and all(
                    state == "suppressed"
                    for key, state in (await states()).items()
                    if key not in ("BridgeWatchMonitorLinkDown", "BridgeWatchEventLoopLagging")
                )

            await eventually(settled, "every site alert muted under the monitor's link")
            found = await states()
            assert found["BridgeWatchMonitorLinkDown"] == "active"
            assert found["BridgeWatchEventLoopLagging"] == "active"
