"""/docs: the interactive API documentation (Swagger UI), served whole by the service.

FastAPI's own page loads Swagger UI from a CDN, a blank page on a closed government network. The
script and style come from the maintained `fastapi-offline` package instead; the page and its
start-up script are ours, so the dashboard's strict Content-Security-Policy holds here too.
"""

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from app.dashboard import STATIC

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def docs() -> FileResponse:
    return FileResponse(STATIC / "docs.html", headers={"Cache-Control": "no-cache"})


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(
        "/docs/assets", StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets"
    )
