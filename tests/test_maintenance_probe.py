"""A maintenance window over a real agent's site, its agent program then killed with SIGKILL: the
site reads `maintenance`, probing goes on, no incident opens and nobody is sent a message; once the
window is over the site is judged as usual (down, the agent still being dead, and the webhook
told), and the live conference's report counts the window's time as maintenance, not downtime."""

import re
import signal
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from models.auth import Role
from models.base import utcnow
from models.db import SessionMaker
from models.notification import ChannelType
from models.settings import Settings
from models.site import SiteStatus
from tests.databases import SQLITE_ONLY
from tests.probing import eventually, fast, give_agent
from tests.receivers import SECRET, WebhookReceiver, webhook_server
from tests.service import free_port
from tests.test_notifications import KEY, channel_and_rule
from tests.test_probe import agent_process, agent_ready, service

pytestmark = SQLITE_ONLY

Headers = dict[Role, dict[str, str]]
CODE = "01267"
NOTE = "Thay bộ định tuyến"


async def _site(client: httpx.AsyncClient, viewer: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/api/v1/sites/{CODE}", headers=viewer)).json()
    return body


async def _incidents(client: httpx.AsyncClient, viewer: dict[str, str]) -> list[dict[str, Any]]:
    page = await client.get("/api/v1/incidents", params={"site": CODE}, headers=viewer)
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def _window(
    client: httpx.AsyncClient, operator: dict[str, str], start: datetime, end: datetime
) -> int:
    body = {"site": CODE, "starts_at": start.isoformat(), "ends_at": end.isoformat(), "note": NOTE}
    made = await client.post("/api/v1/maintenance", json=body, headers=operator)
    assert made.status_code == 201, made.text
    window_id: int = made.json()["id"]
    return window_id


async def _conference(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    now = utcnow()
    plan = {
        "title": "Hội nghị giao ban",
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "sites": [{"site_code": CODE, "expected_delegates": 20}],
    }
    created = await client.post("/api/v1/conferences", json=plan, headers=admin)
    assert created.status_code == 201, created.text
    return f"{created.headers['location']}/report"


async def test_a_killed_agent_in_maintenance_pages_nobody_and_is_down_after_it(
    settings: Settings, seeded: SessionMaker, auth: Headers, tmp_path: Path
) -> None:
    port = free_port()
    secret = await give_agent(seeded, CODE, f"http://127.0.0.1:{port}/{CODE}")
    viewer, operator = auth[Role.VIEWER], auth[Role.OPERATOR]
    receiver = WebhookReceiver()
    paging = fast(settings, notify_secret_key=SecretStr(KEY), notify_digest_seconds=1.0)
    with agent_process(CODE, secret, port, tmp_path) as agent:
        await eventually(lambda: agent_ready(port), "the agent listens")
        async with webhook_server(receiver) as hook, service(paging) as client:
            await channel_and_rule(seeded, ChannelType.WEBHOOK, {"url": hook}, SECRET, CODE)

            async def status_is(wanted: SiteStatus) -> bool:
                status: str = (await _site(client, viewer))["status"]
                return status == wanted

            await eventually(lambda: status_is(SiteStatus.UP), "the site is up")
            report = await _conference(client, auth[Role.ADMIN])
            began = utcnow()
            long = await _window(client, operator, began, began + timedelta(hours=1))
            await eventually(lambda: status_is(SiteStatus.MAINTENANCE), "in maintenance")
            assert (await _site(client, viewer))["status_reason"] == f"maintenance: {NOTE}"
            agent.send_signal(signal.SIGKILL)

            async def probed_while_dead() -> bool:
                samples = await client.get(f"/api/v1/sites/{CODE}/samples", headers=viewer)
                return any(not s["reachable"] for s in samples.json()["items"])

            await eventually(probed_while_dead, "windows without an answer are recorded")
            assert (await _site(client, viewer))["status"] == SiteStatus.MAINTENANCE
            assert await _incidents(client, viewer) == []

            # A short window takes over from the long one, cancelled, and ends on its own.
            await _window(client, operator, utcnow(), utcnow() + timedelta(seconds=2))
            over = utcnow()  # the site may be judged before the answer to the delete is back
            deleted = await client.delete(f"/api/v1/maintenance/{long}", headers=operator)
            assert deleted.status_code == 204
            await eventually(lambda: status_is(SiteStatus.DOWN), "down after the window")
            reason = (await _site(client, viewer))["status_reason"]
            assert re.fullmatch(r"\d+ heartbeats missed|set-up failed: \w+", reason), reason
            [incident] = await _incidents(client, viewer)
            assert incident["severity"] == "down" and incident["closed_at"] is None
            assert datetime.fromisoformat(incident["opened_at"]) >= over

            async def told() -> bool:
                return bool(receiver.unique)

            await eventually(told, "the webhook is told once the window is over")
            # One message, of the change after the window: none went out during it.
            [(_, message)] = receiver.unique.items()
            assert [(c["site"]["code"], c["kind"]) for c in message["data"]["changes"]] == [
                (CODE, "opened")
            ]

            body = (await client.get(report, headers=viewer)).json()
            [site] = [s for d in body["districts"] for s in d["sites"]]
            seconds = site["seconds"]
            assert seconds["maintenance"] > 0 and seconds["down"] > 0
            counted = seconds["up"] + seconds["degraded"] + seconds["down"] + seconds["other"]
            # Maintenance is out of the ratio's window: not downtime, and not uptime either.
            assert site["uptime_ratio"] == pytest.approx(1 - seconds["down"] / counted, abs=1e-4)
