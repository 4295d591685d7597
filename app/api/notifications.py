"""/api/v1/notification-channels, /notification-rules and /notification-messages: where incident
messages go, which go where, and what became of them (admins manage; secrets never come back)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy import Select, func, select

from app.deps import Admin, Operator, SessionDep, SettingsDep
from app.schemas.common import EVERY_ROUTE, Id, Offset, Page, problems
from app.schemas.notifications import (
    ChannelCreate,
    ChannelPublic,
    MessagePublic,
    RuleCreate,
    RulePublic,
    Switch,
    TestResult,
)
from models.notification import (
    MessageState,
    NotificationChannel,
    NotificationMessage,
    NotificationRule,
)
from models.settings import Settings
from models.site import Site
from monitor.notify.secrets import SecretBox
from monitor.notify.store import InvalidNotificationError, NameTakenError, add_channel, add_rule
from monitor.notify.trial import send_trial

channels_router = APIRouter(
    prefix="/notification-channels",
    tags=["notifications"],
    responses=problems(*EVERY_ROUTE, 403, 422),
)
rules_router = APIRouter(
    prefix="/notification-rules", tags=["notifications"], responses=problems(*EVERY_ROUTE, 403, 422)
)
messages_router = APIRouter(
    prefix="/notification-messages",
    tags=["notifications"],
    responses=problems(*EVERY_ROUTE, 403, 422),
)


def secret_box(settings: Settings) -> SecretBox:
    key = settings.notify_secret_key
    return SecretBox(key.get_secret_value() if key else None)


def own_urls(settings: Settings) -> list[str]:
    """The addresses this service answers on: a webhook may not point at them."""
    return [
        settings.resolved_public_url,
        settings.resolved_worker_url,
        settings.resolved_dashboard_url,
        f"http://{settings.host}:{settings.port}",
    ]


def _channel(row: NotificationChannel) -> ChannelPublic:
    return ChannelPublic(
        id=row.id,
        name=row.name,
        type=row.type,
        config=row.config,
        has_secret=row.secret_encrypted is not None,
        secret_env=row.secret_env,
        enabled=row.enabled,
        created_at=row.created_at,
    )


@channels_router.get("", summary="List notification channels")
async def list_channels(session: SessionDep, _: Admin) -> list[ChannelPublic]:
    rows = await session.scalars(select(NotificationChannel).order_by(NotificationChannel.id))
    return [_channel(row) for row in rows]


@channels_router.post(
    "", status_code=201, summary="Add a notification channel", responses=problems(409)
)
async def create_channel(
    body: ChannelCreate, session: SessionDep, _: Admin, settings: SettingsDep, response: Response
) -> ChannelPublic:
    try:
        row = await add_channel(
            session,
            name=body.name,
            kind=body.type,
            config=body.config,
            secret=body.secret.get_secret_value() if body.secret else None,
            secret_env=body.secret_env,
            box=secret_box(settings),
            own_urls=own_urls(settings),
        )
    except InvalidNotificationError as exc:
        raise HTTPException(422, str(exc)) from None
    except NameTakenError as exc:
        raise HTTPException(409, str(exc)) from None
    await session.commit()
    response.headers["Location"] = f"/api/v1/notification-channels/{row.id}"
    return _channel(row)


async def _get_channel(session: SessionDep, channel_id: int) -> NotificationChannel:
    row = await session.get(NotificationChannel, channel_id)
    if row is None:
        raise HTTPException(404, f"no notification channel with id {channel_id}")
    return row


@channels_router.get("/{channel_id}", summary="One channel", responses=problems(404))
async def get_channel(channel_id: Id, session: SessionDep, _: Admin) -> ChannelPublic:
    return _channel(await _get_channel(session, channel_id))


@channels_router.patch(
    "/{channel_id}",
    summary="Turn a channel off (its rules make no messages) or on again",
    responses=problems(404),
)
async def switch_channel(
    channel_id: Id, body: Switch, session: SessionDep, _: Admin
) -> ChannelPublic:
    row = await _get_channel(session, channel_id)
    row.enabled = body.enabled
    await session.commit()
    return _channel(row)


@channels_router.delete(
    "/{channel_id}",
    status_code=204,
    summary="Remove a channel, its rules and its messages",
    responses=problems(404),
)
async def delete_channel(channel_id: Id, session: SessionDep, _: Admin) -> None:
    await session.delete(await _get_channel(session, channel_id))
    await session.commit()


@channels_router.post(
    "/{channel_id}/test",
    summary="Send a test message through the channel now, and say whether it went",
    responses=problems(404),
)
async def test_channel(
    channel_id: Id,
    session: SessionDep,
    _: Admin,
    settings: SettingsDep,
    language: Annotated[str, Query(pattern="^(vi|en)$")] = "vi",
) -> TestResult:
    row = await _get_channel(session, channel_id)
    result = await send_trial(
        row, secret_box(settings), settings.notify_send_timeout_seconds, language
    )
    return TestResult(
        delivered=result.error is None, delivery_id=result.delivery_id, error=result.error
    )


def _rule(row: NotificationRule, site_code: str | None) -> RulePublic:
    return RulePublic(
        id=row.id,
        name=row.name,
        channel_id=row.channel_id,
        statuses=row.statuses,
        site=site_code,
        conference_id=row.conference_id,
        language=row.language,
        remind_minutes=row.remind_minutes,
        notify_resolved=row.notify_resolved,
        enabled=row.enabled,
        created_at=row.created_at,
    )


def _rules_with_sites() -> Select[NotificationRule, str]:
    return select(NotificationRule, Site.code).outerjoin(Site, Site.id == NotificationRule.site_id)


@rules_router.get("", summary="List notification rules")
async def list_rules(session: SessionDep, _: Admin) -> list[RulePublic]:
    rows = await session.execute(_rules_with_sites().order_by(NotificationRule.id))
    return [_rule(row, code) for row, code in rows.all()]


@rules_router.post("", status_code=201, summary="Add a notification rule")
async def create_rule(
    body: RuleCreate, session: SessionDep, _: Admin, response: Response
) -> RulePublic:
    try:
        row = await add_rule(
            session,
            name=body.name,
            channel_id=body.channel_id,
            statuses=list(body.statuses),
            site_code=body.site,
            conference_id=body.conference_id,
            language=body.language,
            remind_minutes=body.remind_minutes,
            notify_resolved=body.notify_resolved,
        )
    except InvalidNotificationError as exc:
        raise HTTPException(422, str(exc)) from None
    await session.commit()
    response.headers["Location"] = f"/api/v1/notification-rules/{row.id}"
    return _rule(row, body.site)


@rules_router.get("/{rule_id}", summary="One rule", responses=problems(404))
async def get_rule(rule_id: Id, session: SessionDep, _: Admin) -> RulePublic:
    row = (await session.execute(_rules_with_sites().where(NotificationRule.id == rule_id))).first()
    if row is None:
        raise HTTPException(404, f"no notification rule with id {rule_id}")
    rule, code = row
    return _rule(rule, code)


@rules_router.patch("/{rule_id}", summary="Turn a rule off or on again", responses=problems(404))
async def switch_rule(rule_id: Id, body: Switch, session: SessionDep, _: Admin) -> RulePublic:
    row = await session.get(NotificationRule, rule_id)
    if row is None:
        raise HTTPException(404, f"no notification rule with id {rule_id}")
    row.enabled = body.enabled
    await session.commit()
    return await get_rule(rule_id, session, _)


@rules_router.delete(
    "/{rule_id}", status_code=204, summary="Remove a rule", responses=problems(404)
)
async def delete_rule(rule_id: Id, session: SessionDep, _: Admin) -> None:
    row = await session.get(NotificationRule, rule_id)
    if row is None:
        raise HTTPException(404, f"no notification rule with id {rule_id}")
    await session.delete(row)
    await session.commit()


@messages_router.get("", summary="Notification messages, newest first, and what became of them")
async def list_messages(
    session: SessionDep,
    _: Operator,
    state: MessageState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> Page[MessagePublic]:
    query = select(NotificationMessage)
    if state is not None:
        query = query.where(NotificationMessage.state == state)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(NotificationMessage.id.desc()).limit(limit).offset(offset)
    )
    return Page[MessagePublic](
        items=[MessagePublic.model_validate(row, from_attributes=True) for row in rows],
        total=total or 0,
    )
