"""The service's edge: requests refused before routing, authentication or the database see them.

- A NUL character in the URL's path or query (raw or percent-encoded) is a 400: no route takes
  one, and PostgreSQL cannot store or even compare text that holds one.
- A request body past its route's bound is a 413. A declared `Content-Length` past the bound is
  answered at once, the body never read; a body sent without one (chunked) is counted as it
  arrives and cut off as soon as it passes the bound. Without this, a body was read whole into
  memory before the token was even looked at: 300 MB with no token took 630 MB more.

Both answer with application/problem+json and `Connection: close` for the 413 (whatever the
client still sends is not read).
"""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.agents import MAX_SDP_BYTES
from app.problems import problem

# The largest body a JSON route takes. The largest conference (10,000 sites with 32-character
# codes, the longest title and description) is 1.2 MB written out with 4-space indentation.
MAX_JSON_BYTES = 2 * 1024 * 1024
AGENT_PATHS = "/api/v1/agents/"  # under it, .../sessions takes SDP offers (app/api/agents.py)
CLOSE = {"Connection": "close"}


def body_limit(path: str) -> tuple[int, str]:
    """The largest request body a route takes, in bytes, and what to say past it."""
    if path.startswith(AGENT_PATHS) and path.endswith("/sessions"):  # an agent's SDP offer
        return MAX_SDP_BYTES, f"the offer is too large ({MAX_SDP_BYTES:,} bytes at most)"
    return MAX_JSON_BYTES, f"the request body is too large ({MAX_JSON_BYTES:,} bytes at most)"


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body passes its bound: FastAPI lets an HTTPException from
    reading the body through untouched, so the app's own handler answers it as a problem."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail, headers=CLOSE)


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    path: str = scope.get("path", "")
    raw_path: bytes = scope.get("raw_path") or b""
    return (
        "\x00" in path
        or b"\x00" in raw_path
        or b"%00" in raw_path
        or b"\x00" in query
        or b"%00" in query
    )


def _declared_length(scope: Scope) -> int | None:
    """The `Content-Length` header as a number; -1 when it is not one."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value) if value.strip().isdigit() else -1
    return None


class Edge:
    """Pure ASGI middleware: outermost of the app's own, it runs before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope):
            refused = problem(400, "the URL contains a NUL character (%00), which nothing takes")
            await refused(scope, receive, send)
            return
        limit, too_large = body_limit(scope["path"])
        declared = _declared_length(scope)
        if declared == -1:
            await problem(400, "the Content-Length header is not a number")(scope, receive, send)
            return
        if declared is not None and declared > limit:
            refused = problem(413, too_large)
            refused.headers.update(CLOSE)
            await refused(scope, receive, send)
            return
        await self._bounded(scope, receive, send, limit, too_large)

    async def _bounded(
        self, scope: Scope, receive: Receive, send: Send, limit: int, too_large: str
    ) -> None:
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(too_large)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            # Code that reads the body itself and lets the error through: answer it here.
            if started:
                raise
            refused = problem(413, str(exc.detail))
            refused.headers.update(CLOSE)
            await refused(scope, receive, send)
