"""/api/v1/agents/{code}/sessions: push-mode signaling, for agents behind NAT that dial in.

In scale-out, the process the agent reaches may not be the one that probes its site: it then
hands the exchange to the worker holding the site's lease.

WHIP style: the agent POSTs its SDP offer (`application/sdp`) with its site secret as bearer
token and gets `201 Created`, the SDP answer and a `Location` to DELETE when it leaves.
A secret is valid for its own site only. With the same secret and the same checks, the agent
(its page, at a site) reads its site's status at `/agents/{code}/status`.

Both answers carry the agent's ICE servers in `Link` headers, as WHIP does (RFC 9725 §4.6), TURN
with credentials made for this site now: an agent has no other way to learn fresh ones before
its next offer (no trickle ICE), and a page left open for days would otherwise dial with
expired ones. Only an authenticated agent of the site gets them.
"""

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import UNAUTHORIZED, ProbeEngineDep, SessionDep, SettingsDep
from app.schemas.common import EVERY_ROUTE, problems
from app.schemas.enrolment import AgentStatus
from models.base import utcnow
from models.settings import Settings
from models.site import ProbeMode, Site
from monitor.probe.credentials import AgentCheck, check_agent_secret
from monitor.probe.engine import NotProbedError, ProbeEngine
from monitor.scaleout import queries
from monitor.wire.links import ice_link_values
from monitor.wire.peer import SetupError
from monitor.wire.signaling import SDP
from monitor.wire.turn import agent_ice_servers

# 401 without the site's secret, 403 with another site's, 404 for an unknown site, 503 when no
# monitor can take the agent now. A worker's own answer is handed back as it is.
router = APIRouter(
    prefix="/agents", tags=["agents"], responses=problems(*EVERY_ROUTE, 403, 404, 422, 503)
)
_agent_bearer = HTTPBearer(auto_error=False, description="The site's agent secret (bws_...).")
MAX_SDP_BYTES = 64 * 1024
FORWARDED_HEADERS = ("content-type", "link", "location", "retry-after")
SDP_BODY = {
    "requestBody": {"required": True, "content": {SDP: {"schema": {"type": "string"}}}},
    "responses": {"201": {"description": "The SDP answer", "content": {SDP: {}}}},
}


async def _authorised_site(
    code: str,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_agent_bearer)],
) -> int:
    # Authenticate first: without a valid secret nobody learns which site codes exist.
    if credentials is None:
        raise HTTPException(401, "the site's agent secret is required", headers=UNAUTHORIZED)
    site_id = await session.scalar(select(Site.id).where(Site.code == code))
    check = await check_agent_secret(session, site_id, credentials.credentials)
    if check is AgentCheck.UNKNOWN_SECRET:
        raise HTTPException(401, "unknown agent secret", headers=UNAUTHORIZED)
    if site_id is None:
        raise HTTPException(404, f"no site with code '{code}'")
    if check is AgentCheck.OTHER_SITE:
        raise HTTPException(403, "that secret belongs to another site")
    return site_id


AgentSite = Annotated[int, Depends(_authorised_site)]


def _add_ice_links(response: Response, settings: Settings, code: str) -> None:
    for value in ice_link_values(agent_ice_servers(settings, code)):
        response.headers.append("Link", value)


async def _read_offer(request: Request) -> str:
    if not request.headers.get("content-type", "").lower().startswith(SDP):
        raise HTTPException(415, "the offer must be sent as application/sdp")
    if int(request.headers.get("content-length") or 0) > MAX_SDP_BYTES:
        raise HTTPException(413, "the offer is too large")
    body = await request.body()
    if len(body) > MAX_SDP_BYTES:
        raise HTTPException(413, "the offer is too large")
    return body.decode("utf-8", "replace")


@router.post(
    "/{code}/sessions",
    status_code=201,
    response_class=Response,
    summary="An agent dials in with its SDP offer",
    openapi_extra=SDP_BODY,
    responses=problems(409, 415),
)
async def open_session(
    code: str,
    request: Request,
    site_id: AgentSite,
    session: SessionDep,
    probe_engine: ProbeEngineDep,
    settings: SettingsDep,
) -> Response:
    offer = await _read_offer(request)
    if probe_engine is not None:
        try:
            answer, push_session = await probe_engine.accept_push(code, offer)
        except NotProbedError:
            pass  # not here: maybe on another worker
        except SetupError as exc:
            if exc.error_class == "bad_offer":
                raise HTTPException(400, f"not a usable SDP offer: {exc}") from exc
            # Our side could not answer in time: a server problem; the agent should retry.
            raise HTTPException(503, f"could not answer: {exc}") from exc
        else:
            location = f"/api/v1/agents/{code}/sessions/{push_session}"
            answered = Response(
                answer, status_code=201, media_type=SDP, headers={"Location": location}
            )
            _add_ice_links(answered, settings, code)
            return answered
    site = await session.get_one(Site, site_id)
    if not site.enabled or site.probe_mode is not ProbeMode.PUSH:
        raise HTTPException(409, f"site '{code}' is disabled or not in push mode")
    worker_url = await _holder(session, site_id, probe_engine, settings)
    return await _forward(request, worker_url, settings, offer)


@router.delete(
    "/{code}/sessions/{session}",
    status_code=204,
    response_class=Response,
    summary="The agent leaves",
)
async def close_session(
    code: str,
    session: str,
    request: Request,
    site_id: AgentSite,
    db: SessionDep,
    probe_engine: ProbeEngineDep,
    settings: SettingsDep,
) -> Response:
    if probe_engine is not None and await probe_engine.end_push(code, session):
        return Response(status_code=204)
    if probe_engine is not None and probe_engine.leases is None:
        raise HTTPException(404, "no such session")
    worker_url = await _holder(db, site_id, probe_engine, settings)
    return await _forward(request, worker_url, settings, None)


@router.get(
    "/{code}/status",
    summary="The agent's page asks how its site is doing",
    description="Also carries the agent's ICE servers in `Link` headers, for its next dial.",
)
async def agent_status(
    code: str, site_id: AgentSite, session: SessionDep, settings: SettingsDep, response: Response
) -> AgentStatus:
    site = await session.get_one(Site, site_id)
    _add_ice_links(response, settings, code)
    return AgentStatus(
        site_code=site.code,
        site_name=site.name,
        status=site.status,
        status_since=site.status_since,
        status_reason=site.status_reason,
        last_seen_at=site.last_seen_at,
        latest=site.latest,
        monitor_time=utcnow(),
        ice_transport_policy=settings.ice_transport_policy,
    )


async def _holder(
    session: AsyncSession, site_id: int, probe_engine: ProbeEngine | None, settings: Settings
) -> str:
    """The URL of the worker that probes the site (scale-out), or 503 when there is none."""
    if not settings.scale_out:
        raise HTTPException(503, "the probe engine does not run in this process")
    holder = await queries.owner_url(session, site_id)
    here = (
        probe_engine.leases.id
        if probe_engine is not None and probe_engine.leases is not None
        else None
    )
    if holder is None or holder[0] == here or holder[1] is None:
        raise HTTPException(
            503,
            "no monitor worker holds this site at the moment; try again shortly",
            headers={"Retry-After": "5"},
        )
    return holder[1]


async def _forward(
    request: Request, worker_url: str, settings: Settings, offer: str | None
) -> Response:
    """Hand the agent's request, its own secret included, to the worker that probes the site:
    the worker checks the secret again and answers with its own ICE candidates."""
    headers = {"Authorization": request.headers.get("authorization", "")}
    if offer is not None:
        headers["Content-Type"] = SDP
    timeout = httpx.Timeout(settings.setup_timeout_seconds + 5, connect=5.0)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            answer = await client.request(
                request.method, worker_url + request.url.path, content=offer, headers=headers
            )
    except httpx.HTTPError as exc:
        raise HTTPException(503, "the worker that probes this site did not answer") from exc
    kept = {k: v for k, v in answer.headers.items() if k.lower() in FORWARDED_HEADERS}
    return Response(answer.content, status_code=answer.status_code, headers=kept)
