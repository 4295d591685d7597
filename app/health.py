"""Liveness (`/healthz`) and readiness (`/readyz`: the database answers) probes."""

import asyncio

from fastapi import APIRouter, HTTPException
from sqlalchemy import text

from app.deps import SessionDep

router = APIRouter(tags=["health"])
READY_TIMEOUT_SECONDS = 3.0


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The service can serve: its database answers")
async def readyz(session: SessionDep) -> dict[str, str]:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready", whatever the driver raised
        raise HTTPException(503, f"database not reachable: {type(exc).__name__}") from exc
    return {"status": "ready"}
