"""/api/v1/workers: the monitor workers sharing the sites in scale-out, and what each holds.

Empty on SQLite, where the service's own engine probes every site.
"""

from datetime import timedelta

from fastapi import APIRouter

from app.deps import Operator, SessionDep, SettingsDep
from app.schemas.common import Page
from app.schemas.workers import WorkerPublic
from monitor.scaleout import queries

router = APIRouter(prefix="/workers", tags=["workers"])


@router.get("", summary="Monitor workers and the sites each holds (operator)")
async def list_workers(
    session: SessionDep, settings: SettingsDep, _: Operator
) -> Page[WorkerPublic]:
    if not settings.scale_out:
        return Page(items=[], total=0)
    holdings = await queries.worker_holdings(session, timedelta(seconds=settings.lease_seconds))
    items = [
        WorkerPublic(
            id=h.worker.id,
            url=h.worker.url,
            started_at=h.worker.started_at,
            seen_at=h.worker.seen_at,
            alive=h.alive,
            sites=h.sites,
        )
        for h in holdings
    ]
    return Page(items=items, total=len(items))
