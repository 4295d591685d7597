"""The `bridgewatch` command line: serve, worker, demo, agent, db, sites, tokens, maintenance,
notifications."""

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import httpx
import typer
import uvicorn
from sqlalchemy import select

from app import logs
from app import notifications_cli as notifications
from app.cli_context import Options, database, fail, run, settings
from app.demo import (
    LOOPBACK,
    demo_database_path,
    demo_settings,
    fleet_while_demo_lives,
    prepare,
    start_fleet,
)
from app.main import create_app
from app.schemas.maintenance import MAX_MINUTES
from app.stopping import AnnouncingServer
from models import migrations
from models.auth import ApiToken, Role, issue_token
from models.base import utcnow
from models.db import create_engine
from models.maintenance import MaintenanceWindow
from models.settings import Settings
from models.site import Site
from models.topology.builtin import BUILTIN, builtin_text
from models.topology.exporter import export_sites
from models.topology.files import FileFormat, TopologyError, dump, parse
from models.topology.importer import import_sites
from monitor.agent.http import agent_app
from monitor.agent.site_agent import SiteAgent
from monitor.maintenance.query import not_over, window_of
from monitor.maintenance.store import UnknownSiteError, plan
from monitor.maintenance.windows import (
    InvalidWindowError,
    current,
    upcoming,
    window_of_parts,
    zone,
)
from monitor.probe.credentials import (
    CLI_AUTHOR,
    EnrolmentError,
    agent_link,
    issue_agent_links,
    issue_agent_secret,
    revoke_agent,
)
from monitor.wire.ice import restrict_host_addresses, rtc_configuration
from monitor.wire.protocol import Report

log = logging.getLogger(__name__)

cli = typer.Typer(
    help="BridgeWatch: watch every bridge point (điểm cầu) of a hybrid conference.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
sites_cli = typer.Typer(help="Import and export the site topology.", no_args_is_help=True)
tokens_cli = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)
maintenance_cli = typer.Typer(
    help="Maintenance windows: planned work at a site or a district with its communes, during "
    "which the sites are still probed but read `maintenance`, not down, and open no incident.",
    no_args_is_help=True,
)
cli.add_typer(db_cli, name="db")
cli.add_typer(sites_cli, name="sites")
cli.add_typer(tokens_cli, name="tokens")
cli.add_typer(maintenance_cli, name="maintenance")
cli.add_typer(notifications.cli, name="notifications")

Host = Annotated[
    str | None,
    typer.Option(help="Address to listen on.", show_default="BRIDGEWATCH_HOST, else 127.0.0.1"),
]
Port = Annotated[
    int | None,
    typer.Option(help="Port to listen on.", show_default="BRIDGEWATCH_PORT, else 8000"),
]
# Database ids are 32-bit: a larger one can only be a typo, and is told so before any query.
TokenId = Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The id from `tokens list`.")]


@cli.callback()
def options(
    ctx: typer.Context,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Work on the data of `bridgewatch demo` (demo.db in the data dir), e.g. "
            "`bridgewatch --demo tokens create --role operator` while the demo runs.",
        ),
    ] = False,
) -> None:
    ctx.obj = Options(demo=demo)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(config: Settings, host: str | None, port: int | None, *, worker: bool = False) -> None:
    config = config.model_copy(update={"host": host or config.host, "port": port or config.port})
    logs.configure(config.log_level, config.log_json)
    app = create_app(config, worker=worker)
    # Live streams end when the server announces its stop; the bound is for anything else.
    server_config = uvicorn.Config(
        app, host=config.host, port=config.port, log_config=None, timeout_graceful_shutdown=5
    )
    server = AnnouncingServer(server_config, app.state.stopping)
    server.run()
    if not server.started:
        raise fail(f"the service could not start on {config.host}:{config.port}")


@cli.command()
def serve(host: Host = None, port: Port = None) -> None:
    """Run the service (migrations applied first unless BRIDGEWATCH_AUTO_MIGRATE=false)."""
    _serve(settings(), host, port)


@cli.command()
def worker(host: Host = None, port: Port = None) -> None:
    """A scale-out monitor worker: probes its share of the sites and serves its own /metrics.

    Workers share a PostgreSQL database with `serve` (run that with BRIDGEWATCH_ENGINE=false
    to keep its process for the API); each site is probed by one worker at a time."""
    config = settings()
    if not config.scale_out:
        raise fail("workers share a PostgreSQL database: set BRIDGEWATCH_DATABASE_URL")
    run(_schema_is_current(config))
    _serve(config, host, port, worker=True)


async def _schema_is_current(config: Settings) -> None:
    # Several workers migrating at once would race: `serve` or `db upgrade` does it, once.
    engine = create_engine(config.resolved_database_url)
    try:
        current = await migrations.current_revision(engine)
    finally:
        await engine.dispose()
    if current != migrations.head_revision():
        raise fail(
            f"the database schema is at revision {current}, not "
            f"{migrations.head_revision()}: run `bridgewatch db upgrade` first"
        )


@cli.command()
def demo(host: Host = None, port: Port = None) -> None:
    """The service on SQLite (demo.db in the data dir) with the Cao Bằng topology and 171
    simulated agents, some dropping, flapping or degrading; anonymous reads allowed.

    Other commands reach its data with --demo, e.g. `bridgewatch --demo sites export`."""
    config = demo_settings(settings())
    fleet_port = free_port()
    secrets = run(prepare(config, fleet_port))
    try:
        fleet = start_fleet(secrets, fleet_port)
    except RuntimeError as exc:
        raise fail(str(exc)) from exc
    logs.configure(config.log_level, config.log_json)
    log.info(
        "demo starting: the CLI reaches its data with --demo",
        extra={
            "dashboard": f"http://{host or config.host}:{port or config.port}/",
            "database": str(demo_database_path(config)),
            "operator_token": "bridgewatch --demo tokens create --role operator",
        },
    )
    try:
        _serve(config, host, port)
    finally:
        fleet.terminate()
        try:
            fleet.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fleet.kill()


@cli.command("demo-fleet", hidden=True)
def demo_fleet(port: Annotated[int, typer.Option(help="Port of the fleet's agents.")]) -> None:
    """The demo's simulated agents; reads {code: secret} as JSON on standard input."""
    config = settings()
    logs.configure(config.log_level, config.log_json)
    secrets = json.loads(sys.stdin.readline())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(fleet_while_demo_lives(secrets, port))


@db_cli.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""

    async def go() -> str | None:
        engine = create_engine(settings(ctx).resolved_database_url)
        try:
            await migrations.upgrade(engine, revision)
            return await migrations.current_revision(engine)
        finally:
            await engine.dispose()

    typer.echo(f"database at revision {run(go())}")


@sites_cli.command("import")
def sites_import(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="A .csv, .yaml or .yml file.")] = None,
    builtin: Annotated[
        str | None, typer.Option(help=f"Load a built-in topology instead: {', '.join(BUILTIN)}.")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Check everything, write nothing.")] = False,
) -> None:
    """Create or update sites from a file; nothing is written if any row is bad."""
    if (file is None) == (builtin is None):
        raise fail("give either a FILE or --builtin NAME")
    try:
        if file is not None:
            fmt = FileFormat.of(file)  # before reading: a wrong type is the clearer error
            rows = parse(_read(file), fmt)
        else:
            rows = parse(builtin_text(builtin or ""), FileFormat.CSV)
    except TopologyError as exc:
        raise _report(exc) from exc

    async def go() -> str:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            result = await import_sites(session, rows)
            if dry_run:
                await session.rollback()
            else:
                await session.commit()
        counts = f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        return f"{counts} (dry run: nothing written)" if dry_run else counts

    try:
        typer.echo(run(go()))
    except TopologyError as exc:
        raise _report(exc) from exc


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {file}: {exc}") from exc


def _report(exc: TopologyError) -> typer.Exit:
    for problem in exc.problems:
        typer.echo(problem, err=True)
    return fail(f"{len(exc.problems)} problem(s); nothing was written")


@sites_cli.command("export")
def sites_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File [default: stdout].")
    ] = None,
    format: Annotated[
        FileFormat | None, typer.Option(help="csv or yaml [default: from --output, else csv].")
    ] = None,
) -> None:
    """Write every site to a file that `sites import` reads back unchanged."""
    fmt = format or (FileFormat.of(output) if output else FileFormat.CSV)

    async def go() -> str:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            return dump(await export_sites(session), fmt)

    text = run(go())
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@sites_cli.command("secret")
def sites_secret(
    ctx: typer.Context, code: Annotated[str, typer.Argument(help="The site's code.")]
) -> None:
    """Issue (or rotate) the site's agent secret and print it once; the old one stops working."""

    async def go() -> str | None:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            site = await session.scalar(select(Site).where(Site.code == code))
            if site is None:
                return None
            secret = await issue_agent_secret(session, site)
            await session.commit()
            return secret

    secret = run(go())
    if secret is None:
        raise fail(f"no site with code '{code}'")
    typer.echo(secret)


@sites_cli.command("agent-link")
def sites_agent_link(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The site's code.")],
    hours: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=720,
            help="How long the link stays valid, in hours.",
            show_default="BRIDGEWATCH_ENROLMENT_HOURS, else 72",
        ),
    ] = None,
) -> None:
    """Print a one-time link that makes a browser the site's agent (opened on the site's
    conference PC); the site's earlier unused link stops working."""
    config = settings(ctx)
    lifetime = timedelta(hours=hours or config.enrolment_hours)

    async def go() -> str | None:
        async with database(config) as sessionmaker, sessionmaker() as session:
            site = await session.scalar(select(Site).where(Site.code == code))
            if site is None:
                return None
            [link] = await issue_agent_links(session, [site], CLI_AUTHOR, lifetime)
            await session.commit()
            return agent_link(config.resolved_public_url, link.code)

    try:
        link = run(go())
    except EnrolmentError as exc:
        raise fail(exc.detail) from exc
    if link is None:
        raise fail(f"no site with code '{code}'")
    typer.echo(link)


@sites_cli.command("revoke-agent")
def sites_revoke_agent(
    ctx: typer.Context, code: Annotated[str, typer.Argument(help="The site's code.")]
) -> None:
    """Revoke the site's agent: its secret and unused links stop working at once."""

    async def go() -> bool:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            site = await session.scalar(select(Site).where(Site.code == code))
            if site is None:
                return False
            await revoke_agent(session, site)
            await session.commit()
            return True

    if not run(go()):
        raise fail(f"no site with code '{code}'")
    typer.echo(f"the agent of site '{code}' is revoked")


@cli.command()
def agent(
    site: Annotated[str, typer.Option(help="The code of the site this agent speaks for.")],
    secret: Annotated[
        str,
        typer.Option(envvar="BRIDGEWATCH_AGENT_SECRET", help="From `bridgewatch sites secret`."),
    ],
    listen: Annotated[
        str | None, typer.Option(help="Pull mode: HOST:PORT where the monitor dials in.")
    ] = None,
    monitor: Annotated[
        str | None, typer.Option(help="Push mode: the monitor's base URL, e.g. https://bw.tinh.vn")
    ] = None,
    attendance: Annotated[
        int | None, typer.Option(min=0, help="Delegates present, reported to the monitor.")
    ] = None,
    relay_only: Annotated[
        bool,
        typer.Option(help="Relayed candidates only: through the TURN server the monitor names."),
    ] = False,
) -> None:
    """Run a site agent that answers the monitor's probes (pull: --listen; push: --monitor)."""
    if (listen is None) == (monitor is None):
        raise fail("give either --listen HOST:PORT (pull mode) or --monitor URL (push mode)")
    config = settings()
    logs.configure(config.log_level, config.log_json)
    restrict_host_addresses(config.ice_host_addresses)
    site_agent = SiteAgent(
        site,
        secret,
        rtc_configuration(config.ice_servers, "relay" if relay_only else "all"),
        report=lambda: Report(attendance=attendance),
    )
    if listen is not None:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise fail(f"--listen must be HOST:PORT, got '{listen}'")
        uvicorn.run(agent_app({site: site_agent}), host=host, port=int(port), log_config=None)
        return
    url = f"{(monitor or '').rstrip('/')}/api/v1/agents/{site}/sessions"
    asyncio.run(_push(site_agent, url))


async def _push(site_agent: SiteAgent, url: str) -> None:
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
        await site_agent.push_forever(url, http)


@tokens_cli.command("create")
def tokens_create(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option(help="What the token may do.")],
    name: Annotated[str, typer.Option(help="Who or what uses it.")] = "cli",
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="Expiry [default: never].")
    ] = None,
) -> None:
    """Create a token and print it once; only its hash is kept."""
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None

    async def go() -> str:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            _, secret = await issue_token(session, name, role, expires_at)
            await session.commit()
            return secret

    typer.echo(run(go()))


@tokens_cli.command("list")
def tokens_list(ctx: typer.Context) -> None:
    """List tokens: id, role, name, prefix, state (never the secret)."""

    async def go() -> list[ApiToken]:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            return list(await session.scalars(select(ApiToken).order_by(ApiToken.id)))

    now = utcnow()
    for token in run(go()):
        state = "valid" if token.is_valid(now) else ("revoked" if token.revoked_at else "expired")
        typer.echo(f"{token.id}\t{token.role}\t{token.name}\t{token.prefix}…\t{state}")


@tokens_cli.command("revoke")
def tokens_revoke(ctx: typer.Context, token_id: TokenId) -> None:
    """Revoke a token at once."""

    async def go() -> bool:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            token = await session.get(ApiToken, token_id)
            if token is None:
                return False
            token.revoked_at = token.revoked_at or utcnow()
            await session.commit()
            return True

    if not run(go()):
        raise fail(f"no token with id {token_id}")
    typer.echo(f"token {token_id} revoked")


MaintenanceId = Annotated[
    int, typer.Argument(min=1, max=2**31 - 1, help="The id from `maintenance list`.")
]
TimeZoneOption = Annotated[
    str, typer.Option("--time-zone", help="IANA time zone of the times and of the rule.")
]


def _moment(text: str, time_zone: str, option: str) -> datetime:
    """A time as written, with its offset or else in `time_zone` ('2026-12-06 22:00')."""
    try:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=zone(time_zone))
    except (ValueError, InvalidWindowError) as exc:
        raise fail(f"{option}: {exc}") from exc


@maintenance_cli.command("add")
def maintenance_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The site's code.")],
    start: Annotated[
        str,
        typer.Option(
            "--from",
            help="Start (of the first occurrence): '2026-12-06 22:00' in --time-zone, or with "
            "its offset.",
        ),
    ],
    end: Annotated[str | None, typer.Option("--to", help="End of a one-off window.")] = None,
    rrule: Annotated[
        str | None,
        typer.Option(help="RFC 5545 RRULE of a recurring window, e.g. 'FREQ=WEEKLY;BYDAY=SU'."),
    ] = None,
    minutes: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_MINUTES, help="How long each occurrence of --rrule lasts."),
    ] = None,
    subtree: Annotated[
        bool, typer.Option(help="Also every site under it (a district's communes).")
    ] = False,
    time_zone: TimeZoneOption = "Asia/Ho_Chi_Minh",
    note: Annotated[str, typer.Option(help="What is being done (the sites' reason).")] = "",
) -> None:
    """Plan maintenance: once (--from, --to) or recurring (--from, --rrule, --minutes). A
    running service applies it at its next reload of the sites (within 10 s)."""
    duration = timedelta(minutes=minutes) if minutes else None
    starts_at = _moment(start, time_zone, "--from")
    ends_at = _moment(end, time_zone, "--to") if end is not None else None

    async def go() -> int:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            window = window_of_parts(starts_at, ends_at, rrule, duration, time_zone)
            row, _site = await plan(
                session, code, window, subtree=subtree, note=note, by=CLI_AUTHOR
            )
            await session.commit()
            return row.id

    try:
        window_id = run(go())
    except (InvalidWindowError, UnknownSiteError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"maintenance window {window_id} planned at site '{code}'")


@maintenance_cli.command("list")
def maintenance_list(
    ctx: typer.Context,
    code: Annotated[
        str | None, typer.Option("--site", help="Only the windows made on this site.")
    ] = None,
    past: Annotated[bool, typer.Option(help="Include the windows that are over.")] = False,
) -> None:
    """One line per window: id, site (+ its subtree), the occurrence on now or next, the rule,
    who made it, the note."""

    async def go() -> list[tuple[MaintenanceWindow, str]]:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            query = select(MaintenanceWindow, Site.code).join(
                Site, Site.id == MaintenanceWindow.site_id
            )
            if code is not None:
                query = query.where(Site.code == code)
            if not past:
                query = query.where(not_over(utcnow()))
            rows = await session.execute(query.order_by(MaintenanceWindow.starts_at))
            return [(row, site_code) for row, site_code in rows.all()]

    now = utcnow()
    for row, site_code in run(go()):
        typer.echo(_maintenance_line(row, site_code, now))


def _maintenance_line(row: MaintenanceWindow, code: str, now: datetime) -> str:
    tz = zone(row.time_zone)
    window = window_of(row)
    span = upcoming(window, now)
    if span is None:
        when = "over"
    else:
        on = "on now" if current(window, now) else "next"
        first, last = span.start.astimezone(tz), span.end.astimezone(tz)
        when = f"{on} {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} {row.time_zone}"
    where = f"{code}+subtree" if row.subtree else code
    fields = [str(row.id), where, when, row.rrule or "once", row.created_by, row.note]
    return "\t".join(field.replace("\n", " ") for field in fields)


@maintenance_cli.command("remove")
def maintenance_remove(ctx: typer.Context, window_id: MaintenanceId) -> None:
    """Cancel a window: its sites are judged as usual again at the service's next reload."""

    async def go() -> bool:
        async with database(settings(ctx)) as sessionmaker, sessionmaker() as session:
            row = await session.get(MaintenanceWindow, window_id)
            if row is None:
                return False
            await session.delete(row)
            await session.commit()
            return True

    if not run(go()):
        raise fail(f"no maintenance window with id {window_id}")
    typer.echo(f"maintenance window {window_id} removed")


def main() -> None:
    cli()
