"""/agent: the page a site's conference PC opens to join as its push agent.

An operator's link, `{public_url}/agent#enrol=CODE`, brings the site here; the code stays in the
fragment, which browsers never send, so it reaches no server log. The page is plain ES modules
under `static/agent/` (no CDN, nothing from outside) and runs under the dashboard's strict
Content-Security-Policy, which `dashboard.SecurityHeaders` adds to every page of the service.
"""

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse

from app.dashboard import STATIC

router = APIRouter(include_in_schema=False)


@router.get("/agent")
async def agent_page() -> FileResponse:
    return FileResponse(STATIC / "agent.html", headers={"Cache-Control": "no-cache"})


def install(app: FastAPI) -> None:
    app.include_router(router)
