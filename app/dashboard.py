"""The live dashboard: static files bundled in the package, served by the service itself (no
CDN, no external fonts or tiles: government networks are often closed)."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).resolve().parent / "static"
# Everything the page needs comes from the service: a strict policy costs nothing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/links")
async def join_cards() -> FileResponse:
    """The printable join cards of a district (?parent=CODE) or of every site (operators)."""
    return FileResponse(STATIC / "links.html", headers={"Cache-Control": "no-cache"})


# The conference day (static/conference/): the list, one conference's view (?id=N; readiness,
# the live board, the totals), which a wall screen opens by URL and leaves, and its A4 report.
@router.get("/conferences")
async def conference_list() -> FileResponse:
    return FileResponse(STATIC / "conferences.html", headers={"Cache-Control": "no-cache"})


@router.get("/conference")
async def conference_view() -> FileResponse:
    return FileResponse(STATIC / "conference.html", headers={"Cache-Control": "no-cache"})


@router.get("/conference/report")
async def conference_report() -> FileResponse:
    return FileResponse(STATIC / "conference-report.html", headers={"Cache-Control": "no-cache"})


class SecurityHeaders:
    """Adds a Content-Security-Policy to the dashboard's responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)
