"""A district's outage as the people on call meet it: the real probe engine watches a district's
communes through real WebRTC agents; every agent is killed, then started again. Each channel
gets one message naming the district's link with its communes folded under it, then one
resolved message: never one per commune."""

import contextlib
from collections.abc import AsyncIterator

from pydantic import SecretStr
from sqlalchemy import select

from app.main import create_app
from models.db import SessionMaker
from models.notification import ChannelType
from models.settings import Settings
from models.site import Site
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from tests.databases import SQLITE_ONLY
from tests.probing import eventually, fast, give_agent, serving
from tests.receivers import SECRET, BotApi, WebhookReceiver, bot_api_server, webhook_server
from tests.service import free_port
from tests.test_notifications import KEY, channel_and_rule, sites
from tests.test_probe import in_process_agents

pytestmark = SQLITE_ONLY

DISTRICT = "040"


@contextlib.asynccontextmanager
async def agents_up(secrets: dict[str, str], port: int) -> AsyncIterator[None]:
    """The district's agents answering on `port`; on leaving, every one of them dead."""
    agents: dict[str, SiteAgent] = in_process_agents(secrets)
    try:
        async with serving(agent_app(agents), port):
            yield
    finally:
        for agent in agents.values():
            await agent.close()


async def test_a_district_killed_and_restarted_is_one_digest_and_one_resolved_message(
    settings: Settings, seeded: SessionMaker
) -> None:
    communes = [code for _, code in await sites(seeded, DISTRICT)]
    port = free_port()
    secrets = {
        code: await give_agent(seeded, code, f"http://127.0.0.1:{port}/{code}") for code in communes
    }
    receiver, bot = WebhookReceiver(), BotApi()
    # The window is generous: on a busy box the communes go down over a few seconds.
    config = fast(
        settings,
        notify_secret_key=SecretStr(KEY),
        notify_digest_seconds=10.0,
        notify_retry_seconds=0.5,
        public_url="http://bw.test",
    )
    async with webhook_server(receiver) as url, bot_api_server(bot) as bot_base:
        await channel_and_rule(seeded, ChannelType.WEBHOOK, {"url": url}, SECRET, DISTRICT)
        await channel_and_rule(
            seeded,
            ChannelType.TELEGRAM,
            {"chat_id": "-100", "api_base_url": bot_base},
            "1:token",
            DISTRICT,
        )
        # The agents answer before the engine first dials: no site starts down.
        first_agents = contextlib.AsyncExitStack()
        await first_agents.enter_async_context(agents_up(secrets, port))
        try:
            async with serving(create_app(config)):

                async def statuses() -> set[str]:
                    async with seeded() as session:
                        rows = await session.scalars(
                            select(Site.status).where(Site.code.in_(communes))
                        )
                        return {str(status) for status in rows}

                async def all_are(status: str) -> bool:
                    return await statuses() == {status}

                async def told(count: int) -> bool:
                    return len(receiver.unique) >= count and len(bot.messages) >= count

                await eventually(lambda: all_are("up"), "every commune is up")
                await first_agents.aclose()  # every agent of the district killed
                await eventually(lambda: all_are("down"), "every commune is down")
                await eventually(lambda: told(1), "the outage was told", 60)
                async with agents_up(secrets, port):
                    await eventually(lambda: all_are("up"), "every commune is up again", 60)
                    await eventually(lambda: told(2), "the recovery was told", 60)
        finally:
            await first_agents.aclose()
    assert len(receiver.unique) == 2 and len(bot.messages) == 2
    outage, recovery = receiver.unique.values()
    district = await name_of(seeded, DISTRICT)
    for message, kind in ((outage, "opened"), (recovery, "resolved")):
        changes = message["data"]["changes"]
        assert {c["kind"] for c in changes} == {kind}
        assert sorted(c["site"]["code"] for c in changes) == sorted([DISTRICT, *communes])
        # The district's link is the cause; every commune's change is folded under it.
        (link,) = [c for c in changes if c["incident_kind"] == "group"]
        assert link["site"]["code"] == DISTRICT
        assert {c["parent_incident_id"] for c in changes if c is not link} == {link["incident_id"]}
    n = len(communes)
    headlines = ("SỰ CỐ ĐƯỜNG TRUYỀN", "ĐƯỜNG TRUYỀN ĐÃ KHÔI PHỤC")
    for (_, sent), what in zip(bot.messages, headlines, strict=True):
        subject, *lines = sent["text"].splitlines()
        assert subject.startswith(f"[BridgeWatch] {what}: {district}")
        assert subject.endswith(f"(kéo theo {n} điểm cầu)")
        assert sum(line.startswith("•") for line in lines) == 1


async def name_of(seeded: SessionMaker, code: str) -> str:
    async with seeded() as session:
        name = await session.scalar(select(Site.name).where(Site.code == code))
    assert name is not None
    return name
