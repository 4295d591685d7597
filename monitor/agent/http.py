"""The agent's pull-mode signaling endpoint (WHIP style), for one site or a simulated fleet.

POST   /{site}                 Content-Type: application/sdp, Authorization: Bearer bwm1...
       -> 201 Created, the SDP answer, Location: /{site}/sessions/{id}
DELETE /{site}/sessions/{id}   -> 204
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from monitor.agent.site_agent import SiteAgent
from monitor.wire.peer import SetupError
from monitor.wire.signaling import SDP

MAX_SDP_BYTES = 64 * 1024


def _problem(status: int, detail: str) -> Response:
    body = {"title": "agent refused", "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else ""


def agent_app(agents: dict[str, SiteAgent]) -> Starlette:
    async def offer(request: Request) -> Response:
        agent = agents.get(request.path_params["site"])
        if agent is None:
            return _problem(404, "no agent for that site here")
        if not agent.authorized(_bearer(request)):
            return _problem(401, "not a valid monitor token for this site")
        if not request.headers.get("content-type", "").lower().startswith(SDP):
            return _problem(415, "the offer must be application/sdp")
        if int(request.headers.get("content-length") or 0) > MAX_SDP_BYTES:
            return _problem(413, "the offer is too large")
        body = await request.body()
        if len(body) > MAX_SDP_BYTES:
            return _problem(413, "the offer is too large")
        try:
            media = request.query_params.get("media") == "1"
            answer, session = await agent.answer(body.decode("utf-8", "replace"), media)
        except SetupError as exc:
            return _problem(400, str(exc))
        except TimeoutError:
            return _problem(503, "could not answer in time; try again")
        location = f"/{agent.site_code}/sessions/{session}"
        return PlainTextResponse(
            answer, status_code=201, media_type=SDP, headers={"Location": location}
        )

    async def end(request: Request) -> Response:
        agent = agents.get(request.path_params["site"])
        if agent is None or not agent.authorized(_bearer(request)):
            return _problem(401, "not a valid monitor token for this site")
        if not await agent.end(request.path_params["session"]):
            return _problem(404, "no such session")
        return Response(status_code=204)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "sites": len(agents)})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/{site}", offer, methods=["POST"]),
            Route("/{site}/sessions/{session}", end, methods=["DELETE"]),
        ]
    )
