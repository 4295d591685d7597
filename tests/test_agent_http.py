"""The agent's pull endpoint: only the monitor, with a fresh token for this site, gets a session."""

from collections.abc import AsyncIterator

import httpx
import pytest

from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.wire.ice import rtc_configuration
from monitor.wire.tokens import monitor_key, monitor_token
from tests.probing import data_channel_offer

SECRET = "bws_agent-test-secret"


@pytest.fixture
async def agent() -> AsyncIterator[httpx.AsyncClient]:
    site_agent = SiteAgent("01267", SECRET, rtc_configuration([]))
    transport = httpx.ASGITransport(app=agent_app({"01267": site_agent}))
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
        yield client
    await site_agent.close()


def headers(token: str, content_type: str = "application/sdp") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


async def test_the_monitor_gets_an_answer_and_can_end_the_session(
    agent: httpx.AsyncClient,
) -> None:
    token = monitor_token(monitor_key(SECRET), "01267")
    answered = await agent.post(
        "/01267", content=await data_channel_offer(), headers=headers(token)
    )
    assert answered.status_code == 201
    assert answered.headers["content-type"].startswith("application/sdp")
    assert "a=fingerprint:" in answered.text
    location = answered.headers["location"]
    assert (await agent.delete(location, headers=headers(token))).status_code == 204
    assert (await agent.delete(location, headers=headers(token))).status_code == 404


async def test_everyone_else_is_refused(agent: httpx.AsyncClient) -> None:
    good = monitor_token(monitor_key(SECRET), "01267")
    sdp = await data_channel_offer()
    cases = [
        ("/01267", sdp, headers("bws_agent-test-secret"), 401),  # the secret itself is no token
        ("/01267", sdp, headers(monitor_token(monitor_key("bws_x"), "01267")), 401),
        ("/01267", sdp, headers(monitor_token(monitor_key(SECRET), "01267", 0)), 401),  # stale
        ("/01270", sdp, headers(good), 404),
        ("/01267", sdp, headers(good, "text/plain"), 415),
        ("/01267", "v=0\r\ngarbage", headers(good), 400),
        ("/01267", "x" * 70_000, headers(good), 413),
    ]
    for path, body, sent, status in cases:
        response = await agent.post(path, content=body, headers=sent)
        assert response.status_code == status, (path, sent, response.text)
        assert response.headers["content-type"] == "application/problem+json"
