"""A site joins by opening a link: an operator makes a one-time link, the site's browser trades
its code for the site's secret and dials in by push; the code works once, expires, is replaced
by a newer link; a new enrolment or a revocation cuts the old agent off. Real SQLite and
PostgreSQL, the real Python agent over real WebRTC on loopback."""

import asyncio
import json
import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import segno
from sqlalchemy import select, update
from typer.testing import CliRunner

from app.cli import cli
from app.logs import JsonFormatter
from app.main import create_app
from models.auth import AgentCredential, Role
from models.base import utcnow
from models.db import SessionMaker
from models.enrolment import AgentEnrolment
from models.settings import IceServer, Settings
from models.site import ProbeMode, Site, SiteStatus
from monitor.agent.site_agent import SiteAgent
from monitor.probe.credentials import AgentCheck, check_agent_secret
from monitor.wire.ice import rtc_configuration
from monitor.wire.protocol import Report
from tests.probing import data_channel_offer, eventually, fast, serving

Headers = dict[Role, dict[str, str]]
PUBLIC = "https://bw.tinh.vn"
TURN = IceServer.model_validate(
    {"urls": ["turn:turn.tinh.vn:3478"], "username": "bw", "credential": "turn-pass"}
)
STUN = IceServer.model_validate({"urls": ["stun:stun.tinh.vn:3478"]})
COMMUNE = "01273"  # Phường Hợp Giang, under the district 040 (Thành phố Cao Bằng)
DISTRICT = "040"
HUB = "04"  # not probed by design
SVG = "{http://www.w3.org/2000/svg}"
runner = CliRunner()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The service as the communes reach it, with a STUN and a TURN server."""
    return settings.model_copy(update={"public_url": PUBLIC, "ice_servers": [STUN, TURN]})


async def make_link(
    client: httpx.AsyncClient, headers: dict[str, str], code: str = COMMUNE, **body: Any
) -> dict[str, Any]:
    response = await client.post(f"/api/v1/sites/{code}/agent-link", json=body, headers=headers)
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def code_in(url: str) -> str:
    return url.split("#enrol=", 1)[1]


async def redeem(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.post("/api/v1/agents/enrol", json={"code": code})


async def enrol(client: httpx.AsyncClient, headers: dict[str, str], code: str = COMMUNE) -> str:
    """A fresh link for the site, redeemed: the site's new secret."""
    response = await redeem(client, code_in((await make_link(client, headers, code))["url"]))
    assert response.status_code == 200, response.text
    secret: str = response.json()["secret"]
    return secret


async def agent_status(
    client: httpx.AsyncClient, secret: str | None, code: str = COMMUNE
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return await client.get(f"/api/v1/agents/{code}/status", headers=headers)


async def stored(sessionmaker: SessionMaker, code: str = COMMUNE) -> tuple[Site, str | None]:
    """The site as stored, and the hash of its agent secret (None: it has none)."""
    async with sessionmaker() as session:
        site = await session.scalar(select(Site).where(Site.code == code))
        assert site is not None
        secret_hash = await session.scalar(
            select(AgentCredential.secret_hash).where(AgentCredential.site_id == site.id)
        )
    return site, secret_hash


async def secret_check(sessionmaker: SessionMaker, secret: str, code: str = COMMUNE) -> AgentCheck:
    async with sessionmaker() as session:
        site_id = await session.scalar(select(Site.id).where(Site.code == code))
        return await check_agent_secret(session, site_id, secret)


def qr_drawn(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """The SVG's size in modules, and the dark modules (row, column) its one path draws."""
    root = ET.fromstring(svg)  # noqa: S314 (the service's own output)
    assert root.tag == f"{SVG}svg"
    paths = root.findall(f"{SVG}path")
    assert len(paths) == 1
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])\s*(-?[\d.]+)(?:[ ,](-?[\d.]+))?", paths[0].get("d", "")):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark |= {(int(y), int(x) + i) for i in range(int(float(a)))}
            x += float(a)
    _, _, width, height = root.get("viewBox", "").split()
    assert width == height
    return int(float(width)), dark


def is_qr_of(svg: str, text: str) -> bool:
    """The SVG draws a QR code of `text` (at some error correction level)."""
    size, drawn = qr_drawn(svg)
    for error in "lmqh":
        for boost in (False, True):
            matrix = segno.make_qr(text, error=error, boost_error=boost).matrix
            border = (size - len(matrix)) // 2
            expected = {
                (r + border, c + border)
                for r, row in enumerate(matrix)
                for c, dark in enumerate(row)
                if dark
            }
            if expected == drawn:
                return True
    return False


async def test_a_link_makes_a_browser_the_site_agent_and_the_site_goes_up_by_push(
    settings: Settings, seeded: SessionMaker, auth: Headers
) -> None:
    operator = auth[Role.OPERATOR]
    before, _ = await stored(seeded)
    assert before.probe_mode is ProbeMode.PULL  # as imported: a commune with no agent yet
    app = create_app(fast(settings, ice_servers=[]))  # the engine gathers on loopback only
    async with (
        serving(app) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        link = await make_link(client, operator)
        assert link["site_code"] == COMMUNE and link["site_name"] == "Phường Hợp Giang"
        assert re.fullmatch(rf"{PUBLIC}/agent#enrol=bwe_[A-Za-z0-9_-]{{22,}}", link["url"])
        expires = datetime.fromisoformat(link["expires_at"])
        assert abs(expires - (utcnow() + timedelta(hours=72))) < timedelta(minutes=1)
        assert is_qr_of(link["qr_svg"], link["url"])

        enrolled = await redeem(client, code_in(link["url"]))
        assert enrolled.status_code == 200, enrolled.text
        assert enrolled.headers["cache-control"] == "no-store"
        body = enrolled.json()
        assert (body["site_code"], body["site_name"]) == (COMMUNE, "Phường Hợp Giang")
        assert body["secret"].startswith("bws_") and body["ice_servers"] == []
        site, secret_hash = await stored(seeded)
        assert site.probe_mode is ProbeMode.PUSH and secret_hash is not None

        agent = SiteAgent(COMMUNE, body["secret"], rtc_configuration([]), lambda: Report())
        url = f"{base}/api/v1/agents/{COMMUNE}/sessions"
        pushing = asyncio.create_task(agent.push_forever(url, client))
        try:

            async def up() -> bool:
                status = (await agent_status(client, body["secret"])).json()
                return bool(status["status"] == SiteStatus.UP and status["latest"])

            await eventually(up, "the enrolled site is up")
        finally:
            pushing.cancel()
            await agent.close()
        shown = (await client.get(f"/api/v1/sites/{COMMUNE}", headers=auth[Role.VIEWER])).json()
        assert (shown["probe_mode"], shown["status"]) == ("push", "up")


async def test_the_page_gets_the_ice_servers_with_their_credentials(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    link = await make_link(client, auth[Role.OPERATOR])
    body = (await redeem(client, code_in(link["url"]))).json()
    assert body["ice_servers"] == [
        {"urls": ["stun:stun.tinh.vn:3478"]},
        {"urls": ["turn:turn.tinh.vn:3478"], "username": "bw", "credential": "turn-pass"},
    ]


async def test_a_code_works_once_and_the_first_secret_stays_good(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    code = code_in((await make_link(client, auth[Role.OPERATOR]))["url"])
    first = await redeem(client, code)
    assert first.status_code == 200
    _, hash_after_first = await stored(seeded)

    again = await redeem(client, code)
    assert again.status_code == 410
    assert again.headers["content-type"] == "application/problem+json"
    assert re.fullmatch(
        r"this link was already used at \d{4}-\d\d-\d\d \d\d:\d\d UTC; "
        r"ask the operator for a new one",
        again.json()["detail"],
    )
    assert (await stored(seeded))[1] == hash_after_first  # nothing rotated
    assert await secret_check(seeded, first.json()["secret"]) is AgentCheck.OK
    assert (await agent_status(client, first.json()["secret"])).status_code == 200


async def test_an_expired_link_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    code = code_in((await make_link(client, auth[Role.OPERATOR], expires_in_hours=1))["url"])
    expired_at = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    async with seeded() as session:
        await session.execute(update(AgentEnrolment).values(expires_at=expired_at))
        await session.commit()
    refused = await redeem(client, code)
    assert refused.status_code == 410
    assert refused.json()["detail"] == (
        "this link expired at 2026-11-20 08:30 UTC; ask the operator for a new one"
    )
    site, secret_hash = await stored(seeded)
    assert site.probe_mode is ProbeMode.PULL and secret_hash is None


async def test_unknown_and_malformed_codes(client: httpx.AsyncClient) -> None:
    unknown = await redeem(client, "bwe_" + "x" * 43)
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "unknown enrolment code")
    assert (await redeem(client, "bwe_cut-off-halfway")).status_code == 404
    for body in (
        {},
        {"code": 12345},
        {"code": ""},
        {"code": "bwe_ with space"},
        {"code": "x" * 201},
    ):
        response = await client.post("/api/v1/agents/enrol", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    extra = await client.post("/api/v1/agents/enrol", json={"code": "bwe_x", "site": COMMUNE})
    assert extra.status_code == 422


async def test_a_new_link_replaces_the_unused_one(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    older = code_in((await make_link(client, auth[Role.OPERATOR]))["url"])
    newer = code_in((await make_link(client, auth[Role.OPERATOR]))["url"])
    assert older != newer
    withdrawn = await redeem(client, older)
    assert withdrawn.status_code == 410
    assert withdrawn.json()["detail"].startswith("this link was withdrawn at ")
    assert withdrawn.json()["detail"].endswith("; ask the operator for a new one")
    assert (await stored(seeded))[1] is None  # the refused code stored nothing
    assert (await redeem(client, newer)).status_code == 200


async def test_enrolling_again_cuts_the_old_agent_off(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    old = await enrol(client, auth[Role.OPERATOR])
    assert (await agent_status(client, old)).status_code == 200
    new = await enrol(client, auth[Role.OPERATOR])
    assert new != old
    assert (await agent_status(client, old)).status_code == 401
    dial = await client.post(
        f"/api/v1/agents/{COMMUNE}/sessions",
        content=(await data_channel_offer()).encode(),
        headers={"Authorization": f"Bearer {old}", "Content-Type": "application/sdp"},
    )
    assert (dial.status_code, dial.json()["detail"]) == (401, "unknown agent secret")
    assert (await agent_status(client, new)).status_code == 200


async def test_revoking_cuts_the_agent_off_and_withdraws_its_links(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    operator = auth[Role.OPERATOR]
    secret = await enrol(client, operator)
    unused = code_in((await make_link(client, operator))["url"])
    assert (
        await client.delete(f"/api/v1/sites/{COMMUNE}/agent", headers=operator)
    ).status_code == (204)
    assert (await agent_status(client, secret)).status_code == 401
    assert (await stored(seeded))[1] is None
    assert (await redeem(client, unused)).status_code == 410
    assert (await client.delete("/api/v1/sites/NOPE/agent", headers=operator)).status_code == 404
    viewer = await client.delete(f"/api/v1/sites/{COMMUNE}/agent", headers=auth[Role.VIEWER])
    assert viewer.status_code == 403


async def test_two_browsers_redeem_one_code_at_once_and_one_wins(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    for _ in range(3):  # a few rounds: the race's interleaving is the scheduler's
        code = code_in((await make_link(client, auth[Role.OPERATOR]))["url"])
        answers = await asyncio.gather(redeem(client, code), redeem(client, code))
        assert sorted(a.status_code for a in answers) == [200, 410], [a.text for a in answers]
        won = next(a for a in answers if a.status_code == 200).json()["secret"]
        lost = next(a for a in answers if a.status_code == 410).json()["detail"]
        assert lost.startswith("this link was already used at ")
        assert await secret_check(seeded, won) is AgentCheck.OK


async def test_a_disabled_or_deleted_site_cannot_enrol_and_nothing_is_stored(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    operator = auth[Role.OPERATOR]
    code = code_in((await make_link(client, operator))["url"])
    disable = {"enabled": False}
    assert (
        await client.patch(f"/api/v1/sites/{COMMUNE}", json=disable, headers=operator)
    ).is_success
    refused = await redeem(client, code)
    assert refused.status_code == 409 and "disabled" in refused.json()["detail"]
    assert (await stored(seeded))[1] is None
    enable = {"enabled": True}
    assert (
        await client.patch(f"/api/v1/sites/{COMMUNE}", json=enable, headers=operator)
    ).is_success
    assert (await redeem(client, code)).status_code == 200  # the refusal did not use the code

    gone = code_in((await make_link(client, operator, "01270"))["url"])
    assert (await client.delete("/api/v1/sites/01270", headers=operator)).status_code == 204
    assert (await redeem(client, gone)).status_code == 404


async def test_links_only_for_sites_that_can_be_probed(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    operator = auth[Role.OPERATOR]
    hub = await client.post(f"/api/v1/sites/{HUB}/agent-link", headers=operator)
    assert hub.status_code == 409 and "probe mode none" in hub.json()["detail"]
    await client.patch(f"/api/v1/sites/{COMMUNE}", json={"enabled": False}, headers=operator)
    disabled = await client.post(f"/api/v1/sites/{COMMUNE}/agent-link", headers=operator)
    assert disabled.status_code == 409 and "disabled" in disabled.json()["detail"]
    unknown = await client.post("/api/v1/sites/NOPE/agent-link", headers=operator)
    assert unknown.status_code == 404
    too_long = {"expires_in_hours": 721}
    refused = await client.post("/api/v1/sites/01270/agent-link", json=too_long, headers=operator)
    assert refused.status_code == 422
    short = await make_link(client, operator, "01270", expires_in_hours=2)
    expires = datetime.fromisoformat(short["expires_at"])
    assert abs(expires - (utcnow() + timedelta(hours=2))) < timedelta(minutes=1)


async def test_the_agent_reads_its_status_and_nobody_else_does(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    secret = await enrol(client, auth[Role.OPERATOR])
    other = await enrol(client, auth[Role.OPERATOR], "01270")
    mine = await agent_status(client, secret)
    assert mine.status_code == 200
    body = mine.json()
    assert set(body) == {
        "site_code",
        "site_name",
        "status",
        "status_since",
        "status_reason",
        "last_seen_at",
        "latest",
        "monitor_time",
        "ice_transport_policy",
    }
    assert (body["site_code"], body["site_name"], body["status"]) == (
        COMMUNE,
        "Phường Hợp Giang",
        "unknown",
    )
    assert abs(datetime.fromisoformat(body["monitor_time"]) - utcnow()) < timedelta(minutes=1)
    assert (await agent_status(client, None)).status_code == 401
    assert (await agent_status(client, "bws_not-a-secret")).status_code == 401
    foreign = await agent_status(client, other)
    assert (foreign.status_code, foreign.json()["detail"]) == (
        403,
        "that secret belongs to another site",
    )
    assert (await agent_status(client, secret, "NOPE")).status_code == 404
    operator_token = auth[Role.OPERATOR]["Authorization"].removeprefix("Bearer ")
    assert (await agent_status(client, operator_token)).status_code == 401


async def test_only_operators_make_links(client: httpx.AsyncClient, auth: Headers) -> None:
    for path, body in (
        (f"/api/v1/sites/{COMMUNE}/agent-link", {}),
        ("/api/v1/agent-links", {"parent": DISTRICT}),
    ):
        viewer = await client.post(path, json=body, headers=auth[Role.VIEWER])
        assert viewer.status_code == 403, path
        anonymous = await client.post(path, json=body)
        assert anonymous.status_code == 401, path


async def test_a_sheet_of_links_for_a_district_and_its_communes(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    operator = auth[Role.OPERATOR]
    await client.patch("/api/v1/sites/01276", json={"enabled": False}, headers=operator)
    await client.patch("/api/v1/sites/01279", json={"probe_mode": "none"}, headers=operator)
    response = await client.post(
        "/api/v1/agent-links", json={"parent": DISTRICT, "expires_in_hours": 24}, headers=operator
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    items = response.json()["items"]
    communes = await client.get(
        "/api/v1/sites", params={"parent": DISTRICT}, headers=auth[Role.VIEWER]
    )
    expected = sorted(
        site["code"] for site in communes.json()["items"] if site["code"] not in ("01276", "01279")
    )
    assert len(expected) == 9
    assert [item["site_code"] for item in items] == [DISTRICT, *expected]
    assert len({item["url"] for item in items}) == len(items)
    for item in items:
        assert item["url"].startswith(f"{PUBLIC}/agent#enrol=bwe_")
        assert is_qr_of(item["qr_svg"], item["url"]), item["site_code"]
    redeemed = await redeem(client, code_in(items[-1]["url"]))
    assert (redeemed.status_code, redeemed.json()["site_code"]) == (200, expected[-1])

    unknown = await client.post("/api/v1/agent-links", json={"parent": "NOPE"}, headers=operator)
    assert unknown.status_code == 404
    unsaid = await client.post("/api/v1/agent-links", json={}, headers=operator)
    assert unsaid.status_code == 422  # every site's links are never replaced by an omission
    everything = await client.post("/api/v1/agent-links", json={"parent": None}, headers=operator)
    codes = [item["site_code"] for item in everything.json()["items"]]
    assert len(codes) == 172 - 3 and HUB not in codes  # the hub, the disabled, the unprobed


async def test_the_command_line_prints_a_link_the_service_redeems(
    client: httpx.AsyncClient, auth: Headers, db_url: str, tmp_path: Path
) -> None:
    env = {
        "BRIDGEWATCH_DATABASE_URL": db_url,
        "BRIDGEWATCH_DATA_DIR": str(tmp_path),
        "BRIDGEWATCH_PUBLIC_URL": "https://bw.tinh.vn/giam-sat/",
    }

    async def bw(*args: str) -> tuple[int, str, str]:
        result = await asyncio.to_thread(runner.invoke, cli, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = await bw("sites", "agent-link", COMMUNE, "--hours", "5")
    assert code == 0
    assert re.fullmatch(r"https://bw\.tinh\.vn/giam-sat/agent#enrol=bwe_[\w-]+\n", out), out
    redeemed = await redeem(client, code_in(out.strip()))
    assert (redeemed.status_code, redeemed.json()["site_code"]) == (200, COMMUNE)
    secret = redeemed.json()["secret"]

    for args, words in (
        (("sites", "agent-link", "NOPE"), "error: no site with code 'NOPE'"),
        (("sites", "agent-link", HUB), "is not monitored (probe mode none)"),
        (("sites", "revoke-agent", "NOPE"), "error: no site with code 'NOPE'"),
    ):
        code, out, err = await bw(*args)
        assert (code, out) == (1, ""), args
        assert words in err and err.count("\n") == 1, err
    await client.patch(
        f"/api/v1/sites/{COMMUNE}", json={"enabled": False}, headers=auth[Role.OPERATOR]
    )
    code, out, _ = await bw("sites", "revoke-agent", COMMUNE)
    assert (code, out) == (0, f"the agent of site '{COMMUNE}' is revoked\n")
    assert (await agent_status(client, secret)).status_code == 401


async def test_the_command_line_refuses_a_disabled_site(
    db_url: str, seeded: SessionMaker, tmp_path: Path
) -> None:
    async with seeded() as session:
        await session.execute(update(Site).where(Site.code == COMMUNE).values(enabled=False))
        await session.commit()
    env = {"BRIDGEWATCH_DATABASE_URL": db_url, "BRIDGEWATCH_DATA_DIR": str(tmp_path)}
    result = await asyncio.to_thread(runner.invoke, cli, ["sites", "agent-link", COMMUNE], env=env)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: site '{COMMUNE}' (Phường Hợp Giang) is disabled: enable it first\n"
    )


async def test_no_code_or_secret_reaches_the_log(
    settings: Settings, seeded: SessionMaker, auth: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    operator = auth[Role.OPERATOR]
    shown: list[str] = []
    async with (
        serving(create_app(settings)) as base,  # uvicorn's access log included
        httpx.AsyncClient(base_url=base, timeout=10) as client,
    ):
        sheet = await client.post(
            "/api/v1/agent-links", json={"parent": DISTRICT}, headers=operator
        )
        shown += [code_in(item["url"]) for item in sheet.json()["items"]]
        link = await make_link(client, operator)
        shown.append(code_in(link["url"]))
        enrolled = (await redeem(client, shown[-1])).json()
        shown.append(enrolled["secret"])
        await redeem(client, shown[-2])  # used
        await agent_status(client, enrolled["secret"])
        await agent_status(client, enrolled["secret"], "01270")  # another site's
        await client.delete(f"/api/v1/sites/{COMMUNE}/agent", headers=operator)
        await agent_status(client, enrolled["secret"])  # revoked
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("agent enrolled by link" in line for line in lines)  # the log was captured
    # The operator a technician calls can see why the link was refused, and for which site.
    refusals = [json.loads(line) for line in lines if "agent link refused" in line]
    assert [(r["reason"], r["site"]) for r in refusals] == [("used", COMMUNE)]
    assert any("POST /api/v1/agents/enrol" in line for line in lines)  # access log too
    leaked = [line for line in lines for secret in shown if secret in line]
    assert leaked == []
