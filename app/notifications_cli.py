"""`bridgewatch notifications channels|rules ...`: channels and rules from a terminal, checked as
the API checks them. A secret is read from stdin or named as an environment variable, never
taken on the command line (where `ps` and the shell's history would keep it)."""

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.notifications import own_urls, secret_box
from app.cli_context import database, fail, run, settings
from models.notification import ChannelType, NotificationChannel, NotificationRule
from models.site import Site
from monitor.notify.store import InvalidNotificationError, NameTakenError, add_channel, add_rule
from monitor.notify.trial import send_trial

T = TypeVar("T")

cli = typer.Typer(
    help="Notifications of incidents: channels (e-mail, webhook, Telegram) and rules.",
    no_args_is_help=True,
)
channels_cli = typer.Typer(help="Where messages go.", no_args_is_help=True)
rules_cli = typer.Typer(help="Which incidents go to which channel.", no_args_is_help=True)
cli.add_typer(channels_cli, name="channels")
cli.add_typer(rules_cli, name="rules")

Id = Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The id from `list`.")]


def _in_session(ctx: typer.Context, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session of the command's database; its refusals are CLI errors."""

    async def go() -> T:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            return await work(session)

    try:
        return run(go())
    except InvalidNotificationError as exc:
        raise fail(str(exc)) from exc
    except NameTakenError as exc:
        raise fail(str(exc)) from exc


@channels_cli.command("add")
def channels_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the channel.")],
    kind: Annotated[ChannelType, typer.Option("--type", help="What kind of channel.")],
    config: Annotated[
        str,
        typer.Option(
            help='JSON: webhook {"url": ...}; telegram {"chat_id": ..., "api_base_url": ...}; '
            'email {"host", "port", "security", "username", "sender", "recipients"}.'
        ),
    ],
    secret_env: Annotated[
        str | None, typer.Option(help="The environment variable that holds the secret.")
    ] = None,
    secret_stdin: Annotated[
        bool, typer.Option(help="Read the secret from stdin (stored encrypted).")
    ] = False,
) -> None:
    """Add a channel (the secret: SMTP password, bot token, webhook whsec_ secret)."""
    try:
        parsed = json.loads(config)
    except json.JSONDecodeError as exc:
        raise fail(f"--config is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise fail("--config must be a JSON object")
    secret = sys.stdin.readline().strip() if secret_stdin else None
    config_of_ctx = settings(ctx)

    async def work(session: AsyncSession) -> int:
        row = await add_channel(
            session,
            name=name,
            kind=kind,
            config=parsed,
            secret=secret or None,
            secret_env=secret_env,
            box=secret_box(config_of_ctx),
            own_urls=own_urls(config_of_ctx),
        )
        await session.commit()
        return row.id

    typer.echo(f"notification channel {_in_session(ctx, work)} added")


@channels_cli.command("list")
def channels_list(ctx: typer.Context) -> None:
    """One line per channel: id, name, type, settings, where its secret is (never the secret),
    enabled or disabled."""

    async def work(session: AsyncSession) -> list[NotificationChannel]:
        return list(
            await session.scalars(select(NotificationChannel).order_by(NotificationChannel.id))
        )

    for row in _in_session(ctx, work):
        secret = (
            f"env:{row.secret_env}"
            if row.secret_env
            else ("encrypted" if row.secret_encrypted else "none")
        )
        fields = [str(row.id), row.name, str(row.type), json.dumps(row.config, ensure_ascii=False)]
        typer.echo("\t".join([*fields, f"secret={secret}", _state(row.enabled)]))


@channels_cli.command("remove")
def channels_remove(ctx: typer.Context, channel_id: Id) -> None:
    """Remove a channel, its rules and its messages."""
    _remove(ctx, NotificationChannel, channel_id, "notification channel")


@channels_cli.command("enable")
def channels_enable(ctx: typer.Context, channel_id: Id) -> None:
    """Send through the channel again."""
    _switch(ctx, NotificationChannel, channel_id, "notification channel", enabled=True)


@channels_cli.command("disable")
def channels_disable(ctx: typer.Context, channel_id: Id) -> None:
    """Keep the channel and its rules, but send nothing through it (e.g. while its receiver is
    being changed); what would have gone out meanwhile is not sent later."""
    _switch(ctx, NotificationChannel, channel_id, "notification channel", enabled=False)


@channels_cli.command("test")
def channels_test(
    ctx: typer.Context,
    channel_id: Id,
    language: Annotated[str, typer.Option(help="vi or en.")] = "vi",
) -> None:
    """Send a test message through the channel now; exit 1 with the reason if it did not go."""
    config = settings(ctx)

    async def work(session: AsyncSession) -> str | None:
        row = await session.get(NotificationChannel, channel_id)
        if row is None:
            return f"no notification channel with id {channel_id}"
        result = await send_trial(
            row, secret_box(config), config.notify_send_timeout_seconds, language
        )
        return result.error

    error = _in_session(ctx, work)
    if error is not None:
        raise fail(error)
    typer.echo(f"test message sent through channel {channel_id}")


@rules_cli.command("add")
def rules_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the rule.")],
    channel_id: Annotated[int, typer.Option("--channel", min=1, max=2**31 - 1)],
    status: Annotated[
        list[str] | None, typer.Option(help="down or degraded; repeat for both [default: down].")
    ] = None,
    site: Annotated[
        str | None, typer.Option(help="A site's code: it and every site under it.")
    ] = None,
    conference: Annotated[
        int | None, typer.Option(min=1, max=2**31 - 1, help="Only this conference's sites.")
    ] = None,
    language: Annotated[str, typer.Option(help="vi or en.")] = "vi",
    remind_minutes: Annotated[
        int | None,
        typer.Option(min=1, max=1440, help="Remind while a site stays down, not acknowledged."),
    ] = None,
    resolved: Annotated[bool, typer.Option(help="Also say when the site is back.")] = True,
) -> None:
    """Add a rule: which incidents (severity, subtree, conference) go to which channel."""
    statuses = status or ["down"]
    if not set(statuses) <= {"down", "degraded"}:
        raise fail("--status is down or degraded")
    if language not in ("vi", "en"):
        raise fail("--language is vi or en")

    async def work(session: AsyncSession) -> int:
        row = await add_rule(
            session,
            name=name,
            channel_id=channel_id,
            statuses=statuses,
            site_code=site,
            conference_id=conference,
            language=language,
            remind_minutes=remind_minutes,
            notify_resolved=resolved,
        )
        await session.commit()
        return row.id

    typer.echo(f"notification rule {_in_session(ctx, work)} added")


@rules_cli.command("list")
def rules_list(ctx: typer.Context) -> None:
    """One line per rule: id, name, channel, statuses, site subtree, conference, language,
    reminders, resolved messages, enabled or disabled."""

    async def work(session: AsyncSession) -> list[Any]:
        rows = await session.execute(
            select(NotificationRule, Site.code)
            .outerjoin(Site, Site.id == NotificationRule.site_id)
            .order_by(NotificationRule.id)
        )
        return list(rows.all())

    for row, code in _in_session(ctx, work):
        fields = [
            row.id,
            row.name,
            f"channel={row.channel_id}",
            ",".join(row.statuses),
            f"site={code or '*'}",
            f"conference={row.conference_id or '*'}",
            row.language,
            f"remind={row.remind_minutes or '-'}",
            "resolved" if row.notify_resolved else "no-resolved",
            _state(row.enabled),
        ]
        typer.echo("\t".join(str(field) for field in fields))


@rules_cli.command("remove")
def rules_remove(ctx: typer.Context, rule_id: Id) -> None:
    """Remove a rule."""
    _remove(ctx, NotificationRule, rule_id, "notification rule")


@rules_cli.command("enable")
def rules_enable(ctx: typer.Context, rule_id: Id) -> None:
    """Let the rule send again."""
    _switch(ctx, NotificationRule, rule_id, "notification rule", enabled=True)


@rules_cli.command("disable")
def rules_disable(ctx: typer.Context, rule_id: Id) -> None:
    """Keep the rule, but send nothing by it."""
    _switch(ctx, NotificationRule, rule_id, "notification rule", enabled=False)


def _state(enabled: bool) -> str:
    return "enabled" if enabled else "disabled"


def _switch(ctx: typer.Context, table: type[Any], row_id: int, what: str, enabled: bool) -> None:
    async def work(session: AsyncSession) -> bool:
        row = await session.get(table, row_id)
        if row is None:
            return False
        row.enabled = enabled
        await session.commit()
        return True

    if not _in_session(ctx, work):
        raise fail(f"no {what} with id {row_id}")
    typer.echo(f"{what} {row_id} {_state(enabled)}")


def _remove(ctx: typer.Context, table: type[Any], row_id: int, what: str) -> None:
    async def work(session: AsyncSession) -> bool:
        row = await session.get(table, row_id)
        if row is None:
            return False
        await session.delete(row)
        await session.commit()
        return True

    if not _in_session(ctx, work):
        raise fail(f"no {what} with id {row_id}")
    typer.echo(f"{what} {row_id} removed")
