"""/api/v1/agents/{code}/sessions: push-mode signaling, for agents behind NAT that dial in.

WHIP style: the agent POSTs its SDP offer (`application/sdp`) with its site secret as bearer
token and gets `201 Created`, the SDP answer and a `Location` to DELETE when it leaves.
A secret is valid for its own site only.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from app.deps import UNAUTHORIZED, EngineDep, SessionDep
from models.site import Site
from monitor.credentials import AgentCheck, check_agent_secret
from monitor.engine import Engine, NotProbedError
from monitor.peer import SetupError
from monitor.signaling import SDP

router = APIRouter(prefix="/agents", tags=["agents"])
_agent_bearer = HTTPBearer(auto_error=False, description="The site's agent secret (bws_...).")
MAX_SDP_BYTES = 64 * 1024
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


def _running(engine: Engine | None) -> Engine:
    if engine is None:
        raise HTTPException(503, "the probe engine does not run in this process")
    return engine


@router.post(
    "/{code}/sessions",
    status_code=201,
    response_class=Response,
    summary="An agent dials in with its SDP offer",
    openapi_extra=SDP_BODY,
)
async def open_session(code: str, request: Request, _: AgentSite, engine: EngineDep) -> Response:
    if not request.headers.get("content-type", "").lower().startswith(SDP):
        raise HTTPException(415, "the offer must be sent as application/sdp")
    if int(request.headers.get("content-length") or 0) > MAX_SDP_BYTES:
        raise HTTPException(413, "the offer is too large")
    body = await request.body()
    if len(body) > MAX_SDP_BYTES:
        raise HTTPException(413, "the offer is too large")
    try:
        answer, session = await _running(engine).accept_push(code, body.decode("utf-8", "replace"))
    except NotProbedError as exc:
        raise HTTPException(409, f"site '{code}' is disabled or not in push mode") from exc
    except SetupError as exc:
        if exc.error_class == "bad_offer":
            raise HTTPException(400, f"not a usable SDP offer: {exc}") from exc
        # Our side could not answer in time: a server problem; the agent should retry.
        raise HTTPException(503, f"could not answer: {exc}") from exc
    location = f"/api/v1/agents/{code}/sessions/{session}"
    return Response(answer, status_code=201, media_type=SDP, headers={"Location": location})


@router.delete(
    "/{code}/sessions/{session}",
    status_code=204,
    response_class=Response,
    summary="The agent leaves",
)
async def close_session(code: str, session: str, _: AgentSite, engine: EngineDep) -> Response:
    if not await _running(engine).end_push(code, session):
        raise HTTPException(404, "no such session")
    return Response(status_code=204)
