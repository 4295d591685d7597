"""CORS for push-mode agents written as web pages on another origin (docs/PROTOCOL.md §6).

Only the agents' signaling paths get it, and only for the origins an operator lists in
`BRIDGEWATCH_AGENT_ORIGINS`: the rest of the API stays same-origin. No cookies are involved
(agents authenticate with their site secret as a bearer token), so credentials stay off.
"""

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

AGENT_PATHS = "/api/v1/agents/"


class AgentCors:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],  # status, offers, leaving
            allow_headers=["Authorization", "Content-Type"],
            # Where the agent DELETEs its session; its ICE servers for the next dial.
            expose_headers=["Location", "Link"],
            max_age=3600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(AGENT_PATHS):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)
