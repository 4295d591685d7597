"""The sender: takes the due messages (a few at a time, delivered side by side, so one channel
that times out does not hold up the others), delivers each through its channel, and writes the
outcome: sent; or tried again after a wait that doubles each time; or, after the bound of
attempts, failed with the reason.

A message is claimed before it is sent and settled after. A process killed in between leaves
the claim to run out; then it is sent again with the same delivery id (the webhook's
`webhook-id`, the e-mail's Message-ID), so the receiver can drop the repeat: at least once on
the wire, once for a receiver that de-duplicates."""

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from models.base import utcnow
from models.db import SessionMaker
from models.notification import (
    ChannelType,
    MessageState,
    NotificationChannel,
    NotificationMessage,
)
from models.settings import Settings
from monitor.notify import channels, outbox, secrets
from monitor.notify.metrics import NotifyMetrics
from monitor.notify.trouble import RoundTrouble

log = logging.getLogger(__name__)

AT_ONCE = 4
IDLE_SECONDS = 1.0
PENDING_EVERY_SECONDS = 5.0
MAX_BACKOFF = timedelta(hours=1)


class Sender:
    def __init__(
        self, sessionmaker: SessionMaker, settings: Settings, metrics: NotifyMetrics | None
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._metrics = metrics
        self._box = secrets.SecretBox(
            settings.notify_secret_key.get_secret_value() if settings.notify_secret_key else None
        )
        self._hold = timedelta(seconds=settings.notify_claim_seconds)
        self._stopping = asyncio.Event()
        self._trouble = RoundTrouble(log, "notification sending")

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        await asyncio.gather(self._count_pending(), self._loop())

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = await self.send_due()
            except Exception as exc:  # the claims run out, the messages wait
                self._trouble.failed(exc)
                busy = 0
            else:
                self._trouble.succeeded()
            if not busy:
                await self._pause(IDLE_SECONDS)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def send_due(self) -> int:
        """Deliver up to AT_ONCE due messages; how many were taken."""
        taken: list[outbox.Claimed] = []
        async with self._sessionmaker() as session, session.begin():
            while len(taken) < AT_ONCE and (
                claimed := await outbox.claim(session, utcnow(), self._hold)
            ):
                taken.append(claimed)
        await asyncio.gather(*(self._send(claimed) for claimed in taken))
        return len(taken)

    async def _send(self, claimed: outbox.Claimed) -> None:
        error = await self._deliver(claimed)
        async with self._sessionmaker() as session, session.begin():
            settled = await outbox.settle(session, claimed, self._outcome(claimed, error))
        self._tell(claimed, error, settled)

    async def _deliver(self, claimed: outbox.Claimed) -> str | None:
        """None if delivered, else why not (never a secret)."""
        message = channels.Outgoing(
            claimed.delivery_id, claimed.subject, claimed.text, claimed.payload
        )
        try:
            secret = secrets.read(self._box, claimed.secret_encrypted, claimed.secret_env)
            await channels.send(
                claimed.channel_type,
                claimed.config,
                secret,
                message,
                self._settings.notify_send_timeout_seconds,
            )
        except (channels.DeliveryError, secrets.SecretError) as exc:
            return str(exc)
        except ValidationError:
            return "the channel's stored settings are not valid"
        return None

    def _outcome(self, claimed: outbox.Claimed, error: str | None) -> dict[str, Any]:
        now = utcnow()
        if error is None:
            return {"state": MessageState.SENT, "sent_at": now, "last_error": None}
        if claimed.attempts >= self._settings.notify_max_attempts:
            return {"state": MessageState.FAILED, "last_error": error[:500]}
        wait = timedelta(seconds=self._settings.notify_retry_seconds * 2 ** (claimed.attempts - 1))
        return {"next_attempt_at": now + min(wait, MAX_BACKOFF), "last_error": error[:500]}

    def _tell(self, claimed: outbox.Claimed, error: str | None, settled: bool) -> None:
        kind = str(claimed.channel_type)
        extra = {
            "delivery_id": claimed.delivery_id,
            "channel": claimed.channel_name,
            "attempt": claimed.attempts,
        }
        if not settled:
            log.warning("notification claim ran out before its outcome was written", extra=extra)
        if error is None:
            log.info("notification sent", extra=extra)
            if self._metrics:
                self._metrics.sent.labels(kind).inc()
            return
        given_up = claimed.attempts >= self._settings.notify_max_attempts
        log.warning(
            "notification given up" if given_up else "notification attempt failed",
            extra={**extra, "error": error},
        )
        if self._metrics:
            self._metrics.attempts_failed.labels(kind).inc()
            if given_up:
                self._metrics.failed.labels(kind).inc()

    async def _count_pending(self) -> None:
        if self._metrics is None:
            return
        while not self._stopping.is_set():
            with contextlib.suppress(Exception):  # a scrape shows the last count meanwhile
                await self._pending(self._metrics)
            await self._pause(PENDING_EVERY_SECONDS)

    async def _pending(self, metrics: NotifyMetrics) -> None:
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(NotificationChannel.type, func.count())
                .join(NotificationMessage, NotificationMessage.channel_id == NotificationChannel.id)
                .where(NotificationMessage.state == MessageState.PENDING)
                .group_by(NotificationChannel.type)
            )
            counts = dict(rows.all())
        for kind in ChannelType:
            metrics.pending.labels(str(kind)).set(counts.get(kind, 0))
