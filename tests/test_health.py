"""Health probes for orchestrators, and an OpenAPI document that validates."""

import httpx
from asgi_lifespan import LifespanManager
from openapi_spec_validator import validate

from app.main import create_app
from models.settings import Settings


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_readyz_is_503_when_the_database_is_gone(settings: Settings) -> None:
    # Port 9 (discard) has no PostgreSQL: connections are refused at once.
    gone = settings.model_copy(update={"database_url": "postgresql+asyncpg://x@127.0.0.1:9/x"})
    async with LifespanManager(create_app(gone)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert "database not reachable" in ready.json()["detail"]


async def test_openapi_document_validates(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    validate(spec)
    assert {"/api/v1/sites", "/api/v1/sites/{code}", "/api/v1/summary"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
