"""Agent links: a site joins by opening a link on its conference PC.

An operator makes a link for a site (or a sheet of them for a district); the site's browser
opens it and trades the one-time code in it for the site's agent secret at `/agents/enrol`,
then dials in by push like any agent. The logic is `monitor.probe.credentials`.
"""

import asyncio
import io
import logging
from datetime import timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Body, HTTPException, Response

from app.deps import LiveViewDep, Operator, ProbeEngineDep, SessionDep, SettingsDep
from app.queries import site_or_404
from app.schemas.common import EVERY_ROUTE, problems
from app.schemas.enrolment import (
    AgentEnrolled,
    AgentLink,
    AgentLinkCreate,
    AgentLinks,
    AgentLinksCreate,
    EnrolRequest,
    RtcIceServer,
)
from models.settings import Settings
from monitor.probe.credentials import (
    EnrolmentError,
    IssuedLink,
    Refusal,
    agent_link,
    enrollable_sites,
    issue_agent_links,
    redeem_agent_link,
    revoke_agent,
)
from monitor.wire.turn import agent_ice_servers

log = logging.getLogger(__name__)

# The operator's side: making links and revoking agents.
router = APIRouter(tags=["agents"], responses=problems(*EVERY_ROUTE, 403, 422))
# The site's side: no bearer token, the code is the credential; and no 401, then.
agent_router = APIRouter(prefix="/agents", tags=["agents"], responses=problems(400, 413, 503))

STATUS_OF = {
    Refusal.UNKNOWN_CODE: 404,
    Refusal.USED: 410,
    Refusal.WITHDRAWN: 410,
    Refusal.EXPIRED: 410,
    Refusal.SITE_DISABLED: 409,
    Refusal.NOT_PROBED: 409,
}
NO_STORE = "no-store"  # the responses carry a one-time code or a secret: no cache keeps them


def _refused(error: EnrolmentError) -> HTTPException:
    return HTTPException(STATUS_OF[error.refusal], error.detail)


def qr_svg(text: str) -> str:
    """`text` as a QR code, a standalone SVG document that scales to whatever size it is given
    (printed sheets, a phone's screen)."""
    code = segno.make_qr(text, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", border=4, xmldecl=False, omitsize=True, lineclass=None, nl=False)
    return out.getvalue().decode()


def _link(link: IssuedLink, settings: Settings) -> AgentLink:
    url = agent_link(settings.resolved_public_url, link.code)
    return AgentLink(
        site_code=link.site.code,
        site_name=link.site.name,
        url=url,
        expires_at=link.expires_at,
        qr_svg=qr_svg(url),
    )


async def _links(links: list[IssuedLink], settings: Settings) -> list[AgentLink]:
    # A QR code takes segno about 5 ms: a province's sheet would hold the event loop (and the
    # heartbeats of the probe engine sharing it) for seconds. A thread keeps the loop turning.
    return await asyncio.to_thread(lambda: [_link(link, settings) for link in links])


def _lifetime(hours: int | None, settings: Settings) -> timedelta:
    return timedelta(hours=hours or settings.enrolment_hours)


@router.post(
    "/sites/{code}/agent-link",
    status_code=201,
    summary="A one-time link that makes a browser the site's agent",
    description="Opening it on the site's conference PC enrols that browser as the site's "
    "push agent. Any earlier unused link of the site stops working. 409 for a site that is "
    "disabled or not probed by design (probe mode none).",
    responses=problems(404, 409),
)
async def make_agent_link(
    code: str,
    session: SessionDep,
    operator: Operator,
    settings: SettingsDep,
    response: Response,
    body: Annotated[AgentLinkCreate | None, Body()] = None,
) -> AgentLink:
    site = await site_or_404(session, code)
    hours = body.expires_in_hours if body is not None else None
    try:
        [link] = await issue_agent_links(session, [site], operator.name, _lifetime(hours, settings))
    except EnrolmentError as exc:
        raise _refused(exc) from exc
    await session.commit()
    log.info("agent link made", extra={"site": code, "by": operator.name})
    response.headers["Cache-Control"] = NO_STORE
    [made] = await _links([link], settings)
    return made


@router.post(
    "/agent-links",
    status_code=201,
    summary="One-time agent links for every site of a subtree (a printable sheet)",
    description="A link for every enabled site of the parent's subtree, the parent included, "
    "whose probe mode is not none; parents before their children. Each site's earlier unused "
    "link stops working.",
    responses=problems(404),
)
async def make_agent_links(
    body: AgentLinksCreate,
    session: SessionDep,
    operator: Operator,
    settings: SettingsDep,
    response: Response,
) -> AgentLinks:
    sites = await enrollable_sites(session, body.parent)
    if sites is None:
        raise HTTPException(404, f"no site with code '{body.parent}'")
    links = await issue_agent_links(
        session, sites, operator.name, _lifetime(body.expires_in_hours, settings)
    )
    await session.commit()
    log.info(
        "agent links made",
        extra={"parent": body.parent, "sites": len(links), "by": operator.name},
    )
    response.headers["Cache-Control"] = NO_STORE
    return AgentLinks(items=await _links(links, settings))


@router.delete(
    "/sites/{code}/agent",
    status_code=204,
    summary="Revoke the site's agent: its secret and unused links stop working",
    responses=problems(404),
)
async def revoke_site_agent(
    code: str, session: SessionDep, operator: Operator, probe_engine: ProbeEngineDep
) -> None:
    site = await site_or_404(session, code)
    await revoke_agent(session, site)
    await session.commit()
    log.info("agent revoked", extra={"site": code, "by": operator.name})
    if probe_engine is not None:
        probe_engine.request_reload()  # ends a push session of the revoked agent now


@agent_router.post(
    "/enrol",
    summary="A site's browser trades its link's one-time code for the site's agent secret",
    description="No bearer token: the code is the credential. Puts the site in push mode and "
    "rotates its secret (an agent enrolled before is cut off). Nothing is stored on an error: "
    "404 unknown code; 410 a link already used, withdrawn or expired; 409 a site disabled or "
    "not probed by design.",
    response_model_exclude_none=True,
    responses=problems(404, 409, 410, 422),
)
async def enrol(
    body: EnrolRequest,
    session: SessionDep,
    settings: SettingsDep,
    probe_engine: ProbeEngineDep,
    live: LiveViewDep,
    response: Response,
) -> AgentEnrolled:
    try:
        enrolled = await redeem_agent_link(session, body.code)
    except EnrolmentError as exc:
        # What a technician was told, for the operator they call (never the code itself).
        log.info("agent link refused", extra={"reason": exc.refusal.value, "site": exc.site_code})
        raise _refused(exc) from exc
    await session.commit()
    log.info("agent enrolled by link", extra={"site": enrolled.site.code})
    if probe_engine is not None:
        probe_engine.request_reload()
    live.site_edited()  # the dashboard shows the site in push mode without waiting
    response.headers["Cache-Control"] = NO_STORE
    return AgentEnrolled(
        site_code=enrolled.site.code,
        site_name=enrolled.site.name,
        secret=enrolled.secret,
        ice_servers=[
            RtcIceServer(
                urls=server.urls,
                username=server.username,
                credential=server.credential.get_secret_value() if server.credential else None,
            )
            for server in agent_ice_servers(settings, enrolled.site.code)
        ],
        ice_transport_policy=settings.ice_transport_policy,
    )
