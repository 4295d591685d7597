"""Notifications end to end, with real receivers on loopback: incident changes written by the real
recorder into the outbox, made into digests and delivered (retried, once per id) to a webhook
endpoint that checks signatures, a stand-in Bot API, and an SMTP server."""

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import select

from models.base import utcnow
from models.db import SessionMaker, open_database
from models.incident import Incident
from models.notification import (
    ChannelType,
    MessageState,
    NotificationMessage,
)
from models.settings import Settings
from models.site import Site, SiteStatus
from monitor.notify.dispatcher import Dispatcher
from monitor.notify.secrets import SecretBox
from monitor.notify.sender import Sender
from monitor.notify.service import Notifications
from monitor.notify.store import add_channel, add_rule
from monitor.probe.events import EventBus, StatusChanged
from monitor.probe.recorder import Recorder
from tests.databases import PostgresDatabases
from tests.probing import eventually
from tests.receivers import (
    SECRET,
    BotApi,
    Mailbox,
    WebhookReceiver,
    bot_api_server,
    smtp_server,
    webhook_server,
)
from tests.service import spawned

KEY = "a key for the tests"


def quick(settings: Settings, **overrides: object) -> Settings:
    """Digests after half a second, retries after a fifth, claims that run out in 4 s."""
    values = {
        "notify_secret_key": KEY,
        "notify_digest_seconds": 0.5,
        "notify_retry_seconds": 0.2,
        "notify_send_timeout_seconds": 2.0,
        "notify_claim_seconds": 4.0,
        "public_url": "http://bw.test",
    }
    return Settings.model_validate({**settings.model_dump(), **values, **overrides})


async def channel_and_rule(
    sessionmaker: SessionMaker,
    kind: ChannelType,
    config: dict[str, object],
    secret: str | None,
    site: str | None = None,
) -> int:
    async with sessionmaker() as session:
        channel = await add_channel(
            session,
            name=f"{kind}-test",
            kind=kind,
            config=config,
            secret=secret,
            secret_env=None,
            box=SecretBox(KEY),
            own_urls=["http://bw.test"],
        )
        await add_rule(
            session,
            name="all down",
            channel_id=channel.id,
            statuses=["down"],
            site_code=site,
            conference_id=None,
            language="vi",
            remind_minutes=None,
            notify_resolved=True,
        )
        await session.commit()
        return channel.id


@contextlib.asynccontextmanager
async def recording(sessionmaker: SessionMaker) -> AsyncIterator[EventBus]:
    """The real recorder on a bus of the test's own: what it is told is saved with its outbox."""
    bus = EventBus()
    recorder = Recorder(sessionmaker, bus, flush_seconds=0.05)
    task = asyncio.create_task(recorder.run())
    try:
        yield bus
    finally:
        recorder.stop()
        await asyncio.wait_for(task, 30)


@contextlib.asynccontextmanager
async def notifying(sessionmaker: SessionMaker, settings: Settings) -> AsyncIterator[Notifications]:
    notifications = Notifications(sessionmaker, settings, CollectorRegistry())
    notifications.start()
    try:
        yield notifications
    finally:
        await notifications.stop()


async def sites(sessionmaker: SessionMaker, parent_code: str) -> list[tuple[int, str]]:
    async with sessionmaker() as session:
        parent = await session.scalar(select(Site.id).where(Site.code == parent_code))
        rows = await session.execute(
            select(Site.id, Site.code).where(Site.parent_id == parent).order_by(Site.code)
        )
        return [(site_id, code) for site_id, code in rows.all()]


def down(site_id: int, code: str) -> StatusChanged:
    return StatusChanged(site_id, code, SiteStatus.UP, SiteStatus.DOWN, "test", utcnow())


def up(site_id: int, code: str) -> StatusChanged:
    return StatusChanged(site_id, code, SiteStatus.DOWN, SiteStatus.UP, "test", utcnow())


async def messages(sessionmaker: SessionMaker) -> list[NotificationMessage]:
    async with sessionmaker() as session:
        return list(
            await session.scalars(select(NotificationMessage).order_by(NotificationMessage.id))
        )


async def test_a_webhook_that_fails_three_times_gets_the_message_once_by_its_id(
    settings: Settings, seeded: SessionMaker
) -> None:
    receiver = WebhookReceiver(fail_first=3)
    async with webhook_server(receiver) as url:
        await channel_and_rule(seeded, ChannelType.WEBHOOK, {"url": url}, SECRET)
        config = quick(settings)
        async with recording(seeded) as bus, notifying(seeded, config) as notifications:
            site_id, code = (await sites(seeded, "040"))[0]
            bus.publish(down(site_id, code))

            async def delivered() -> bool:
                return len(receiver.deliveries) == 4

            await eventually(delivered, "the fourth attempt got through")
            await asyncio.sleep(1)  # nothing more may come
            sent = notifications.metrics
    assert receiver.bad_signatures == 0 and len(receiver.deliveries) == 4
    assert len(receiver.unique) == 1  # every attempt carried the same webhook-id
    (payload,) = receiver.unique.values()
    assert [c["site"]["code"] for c in payload["data"]["changes"]] == [code]
    assert payload["data"]["changes"][0]["kind"] == "opened"
    (message,) = await messages(seeded)
    assert message.state is MessageState.SENT and message.attempts == 4
    assert message.delivery_id in receiver.unique
    assert sent is not None
    assert sent.sent.labels("webhook")._value.get() == 1
    assert sent.attempts_failed.labels("webhook")._value.get() == 3


async def test_a_message_is_given_up_after_the_bound_with_the_reason(
    settings: Settings, seeded: SessionMaker
) -> None:
    receiver = WebhookReceiver(fail_first=100)
    async with webhook_server(receiver) as url:
        await channel_and_rule(seeded, ChannelType.WEBHOOK, {"url": url}, SECRET)
        async with (
            recording(seeded) as bus,
            notifying(seeded, quick(settings, notify_max_attempts=3)),
        ):
            site_id, code = (await sites(seeded, "040"))[0]
            bus.publish(down(site_id, code))

            async def failed() -> bool:
                return [m.state for m in await messages(seeded)] == [MessageState.FAILED]

            await eventually(failed, "the message was given up")
    (message,) = await messages(seeded)
    assert message.attempts == 3 and len(receiver.deliveries) == 3
    assert message.last_error == "webhook answered HTTP 500"


async def test_a_mass_outage_is_one_digest_per_channel_and_one_resolved_message(
    settings: Settings, seeded: SessionMaker
) -> None:
    communes = await sites(seeded, "040")
    assert len(communes) > 5
    receiver, bot, mailbox = WebhookReceiver(), BotApi(), Mailbox()
    async with (
        webhook_server(receiver) as url,
        bot_api_server(bot) as bot_base,
        smtp_server(mailbox) as smtp_port,
    ):
        await channel_and_rule(seeded, ChannelType.WEBHOOK, {"url": url}, SECRET, site="040")
        await channel_and_rule(
            seeded,
            ChannelType.TELEGRAM,
            {"chat_id": "-100", "api_base_url": bot_base},
            "123:bot-token",
            site="040",
        )
        await channel_and_rule(
            seeded,
            ChannelType.EMAIL,
            {
                "host": "127.0.0.1",
                "port": smtp_port,
                "security": "none",
                "sender": "bw@tinh.vn",
                "recipients": ["truc@tinh.vn"],
            },
            None,
            site="040",
        )
        async with (
            recording(seeded) as bus,
            notifying(seeded, quick(settings, notify_digest_seconds=2)),
        ):
            for site_id, code in communes:
                bus.publish(down(site_id, code))
                await asyncio.sleep(0.05)  # one after another, as heartbeats miss

            async def each_told(count: int) -> bool:
                return (len(receiver.unique), len(bot.messages), len(mailbox.messages)) == (
                    count,
                    count,
                    count,
                )

            await eventually(lambda: each_told(1), "one digest per channel")
            await asyncio.sleep(3)  # a second window passes: nothing more
            assert await each_told(1)
            for site_id, code in communes:
                bus.publish(up(site_id, code))
            await eventually(lambda: each_told(2), "one resolved message per channel")
    codes = [code for _, code in communes]
    opened, resolved = receiver.unique.values()
    assert [c["site"]["code"] for c in opened["data"]["changes"]] == codes
    assert {c["kind"] for c in resolved["data"]["changes"]} == {"resolved"}
    token, first = bot.messages[0]
    assert token == "123:bot-token" and first["chat_id"] == "-100"
    assert first["text"].startswith(
        f"[BridgeWatch] {len(codes)} điểm cầu: {len(codes)} mất kết nối"
    )
    mail = mailbox.messages[0]
    assert mail["Subject"] == f"[BridgeWatch] {len(codes)} điểm cầu: {len(codes)} mất kết nối"
    body = mail.get_content()
    async with seeded() as session:
        names = list(await session.scalars(select(Site.name).where(Site.code.in_(codes))))
    assert all(name in body for name in names)  # Vietnamese names intact through SMTP
    assert "http://bw.test/?site=" in body
    assert "đã khôi phục" in mailbox.messages[1]["Subject"]


async def test_a_sender_killed_between_send_and_commit_delivers_once_after_restart(
    db_url: str, seeded: SessionMaker, tmp_path: Path
) -> None:
    """SIGKILL while the receiver holds the delivery: the outcome is never written. The service
    started again sends the message again when the claim runs out, with the same webhook-id, so
    the receiver (which drops repeats by id) has it once; the message is sent, not doubled."""
    receiver = WebhookReceiver(hold=asyncio.Event())
    env = {
        "BRIDGEWATCH_DATABASE_URL": db_url,
        "BRIDGEWATCH_DATA_DIR": str(tmp_path),
        "BRIDGEWATCH_AUTO_MIGRATE": "false",
        "BRIDGEWATCH_SEED_TOPOLOGY": "",
        "BRIDGEWATCH_ENGINE": "false",
        "BRIDGEWATCH_LOG_JSON": "false",
        "BRIDGEWATCH_NOTIFY_SECRET_KEY": KEY,
        "BRIDGEWATCH_NOTIFY_DIGEST_SECONDS": "0.2",
        "BRIDGEWATCH_NOTIFY_SEND_TIMEOUT_SECONDS": "10",
        "BRIDGEWATCH_NOTIFY_CLAIM_SECONDS": "12",
    }
    command = [str(Path(sys.executable).with_name("bridgewatch")), "serve"]
    async with webhook_server(receiver) as url:
        await channel_and_rule(seeded, ChannelType.WEBHOOK, {"url": url}, SECRET)
        async with recording(seeded) as bus:
            site_id, code = (await sites(seeded, "040"))[0]
            bus.publish(down(site_id, code))
        with contextlib.ExitStack() as stack:
            _, first = await asyncio.to_thread(stack.enter_context, spawned(command, env, tmp_path))

            async def received() -> bool:
                return len(receiver.deliveries) == 1

            await eventually(received, "the first service is delivering")
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 30)
        receiver.released.set()
        (message,) = await messages(seeded)
        assert (message.state, message.attempts) == (MessageState.PENDING, 1)
        with contextlib.ExitStack() as stack:
            await asyncio.to_thread(stack.enter_context, spawned(command, env, tmp_path))

            async def sent() -> bool:
                return [m.state for m in await messages(seeded)] == [MessageState.SENT]

            await eventually(sent, "the service started again sent it")
    assert len(receiver.deliveries) == 2  # on the wire twice...
    assert list(receiver.unique) == [message.delivery_id]  # ...once for the receiver
    (message,) = await messages(seeded)
    assert message.attempts == 2


async def test_reminders_come_every_n_minutes_until_someone_takes_the_incident(
    settings: Settings, seeded: SessionMaker
) -> None:
    receiver = WebhookReceiver()
    async with webhook_server(receiver) as url:
        async with seeded() as session:
            channel = await add_channel(
                session,
                name="hook",
                kind=ChannelType.WEBHOOK,
                config={"url": url},
                secret=SECRET,
                secret_env=None,
                box=SecretBox(KEY),
                own_urls=[],
            )
            await add_rule(
                session,
                name="nhắc",
                channel_id=channel.id,
                statuses=["down"],
                site_code=None,
                conference_id=None,
                language="vi",
                remind_minutes=5,
                notify_resolved=True,
            )
            await session.commit()
        async with recording(seeded) as bus:
            site_id, code = (await sites(seeded, "040"))[0]
            bus.publish(down(site_id, code))
        dispatcher = Dispatcher(seeded, quick(settings))
        t0 = utcnow() + timedelta(seconds=1)

        async def made_at(minutes: float) -> int:
            """Dispatch at t0 + minutes, and again once that moment's window is over."""
            at = t0 + timedelta(minutes=minutes)
            return await dispatcher.dispatch(at) + await dispatcher.dispatch(
                at + timedelta(seconds=1)
            )

        assert await made_at(0) == 1  # opened
        assert await made_at(3) == 0
        assert await made_at(6) == 1  # a reminder
        assert await made_at(8) == 0  # reminded 2 minutes ago
        assert await made_at(12) == 1
        async with seeded() as session:
            incident = await session.scalar(select(Incident))
            assert incident is not None
            incident.acknowledged_at, incident.acknowledged_by = utcnow(), "Trực ban"
            await session.commit()
        assert await made_at(18) == 0  # taken: no more reminders
    texts = [m.text for m in await messages(seeded)]
    assert "MẤT KẾT NỐI" in texts[0] and "CHƯA CÓ NGƯỜI NHẬN XỬ LÝ" not in texts[0]
    assert all("VẪN MẤT KẾT NỐI, CHƯA CÓ NGƯỜI NHẬN XỬ LÝ" in text for text in texts[1:])


async def test_two_senders_on_postgresql_deliver_each_message_once(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    receiver = WebhookReceiver()
    async with (
        webhook_server(receiver) as url,
        postgres.fresh() as db_url,
        open_database(db_url) as first,
        open_database(db_url) as second,
    ):
        async with first() as session:
            channel = await add_channel(
                session,
                name="hook",
                kind=ChannelType.WEBHOOK,
                config={"url": url},
                secret=SECRET,
                secret_env=None,
                box=SecretBox(KEY),
                own_urls=[],
            )
            session.add_all(
                NotificationMessage(
                    delivery_id=f"msg_{i}",
                    channel_id=channel.id,
                    subject=f"tin {i}",
                    text=f"tin {i}",
                    payload={"type": "bridgewatch.test"},
                )
                for i in range(40)
            )
            await session.commit()
        config = quick(Settings(database_url=db_url, data_dir=tmp_path))
        senders = [Sender(first, config, None), Sender(second, config, None)]
        tasks = [asyncio.create_task(sender.run()) for sender in senders]
        try:

            async def all_sent() -> bool:
                return {m.state for m in await messages(first)} == {MessageState.SENT}

            await eventually(all_sent, "every message was sent")
        finally:
            for sender in senders:
                sender.stop()
            await asyncio.gather(*tasks)
    assert len(receiver.deliveries) == 40 and len(receiver.unique) == 40


async def test_messages_told_long_ago_are_deleted_and_pending_ones_kept(
    settings: Settings, seeded: SessionMaker
) -> None:
    config = quick(settings, notify_retention_days=30)
    channel_id = await channel_and_rule(
        seeded, ChannelType.WEBHOOK, {"url": "https://hooks.tinh.vn/bw"}, SECRET
    )
    long_ago, lately = utcnow() - timedelta(days=31), utcnow() - timedelta(days=29)
    kept_for_now = {
        "sent long ago": (MessageState.SENT, long_ago),
        "given up long ago": (MessageState.FAILED, long_ago),
        "still to send": (MessageState.PENDING, long_ago),  # a channel down for a month
        "sent lately": (MessageState.SENT, lately),
    }
    async with seeded() as session:
        session.add_all(
            NotificationMessage(
                delivery_id=name,
                channel_id=channel_id,
                subject=name,
                text=name,
                payload={},
                state=state,
                created_at=at,
            )
            for name, (state, at) in kept_for_now.items()
        )
        await session.commit()
    async with recording(seeded) as bus:
        site_id, code = (await sites(seeded, "040"))[0]
        bus.publish(down(site_id, code))
    dispatcher = Dispatcher(seeded, config)
    later = utcnow() + timedelta(seconds=1)
    assert await dispatcher.dispatch(later) == 1  # the new change is told ...
    left = {m.delivery_id for m in await messages(seeded)}
    # ... and what was told (or given up) more than 30 days ago is gone.
    made = {m for m in left if m.startswith("msg_")}
    assert len(made) == 1 and left == {"still to send", "sent lately", *made}
