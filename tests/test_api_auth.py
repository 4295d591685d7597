"""Tokens and roles: who may read, who may write, and that secrets never leak back out."""

from datetime import timedelta

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from app.main import create_app
from models.auth import ApiToken, Role, hash_secret, issue_token
from models.base import utcnow
from models.db import SessionMaker
from models.settings import Settings

Headers = dict[Role, dict[str, str]]


async def test_reads_need_a_valid_token(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    async with seeded() as session:
        _, expired = await issue_token(session, "old", Role.ADMIN, utcnow() - timedelta(seconds=1))
        revoked_token, revoked = await issue_token(session, "gone", Role.ADMIN)
        revoked_token.revoked_at = utcnow()
        await session.commit()
    for headers in (
        {},
        {"Authorization": "Bearer bw_not-a-real-token"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {revoked}"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        response = await client.get("/api/v1/sites", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/api/v1/sites", headers=auth[Role.VIEWER])).status_code == 200


async def test_each_role_may_do_its_own_work_and_no_more(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    site = {"code": "T1", "name": "T", "level": "commune", "parent_code": "051"}
    conference = {
        "title": "Hội nghị",
        "starts_at": "2026-12-01T01:00:00Z",
        "ends_at": "2026-12-01T04:00:00Z",
    }
    viewer_write = await client.post("/api/v1/sites", json=site, headers=auth[Role.VIEWER])
    assert viewer_write.status_code == 403
    assert "operator" in viewer_write.json()["detail"]
    assert (await client.post("/api/v1/sites", json=site, headers=auth[Role.OPERATOR])).is_success
    operator_conf = await client.post(
        "/api/v1/conferences", json=conference, headers=auth[Role.OPERATOR]
    )
    assert operator_conf.status_code == 403
    assert (
        await client.post("/api/v1/conferences", json=conference, headers=auth[Role.ADMIN])
    ).is_success
    assert (await client.get("/api/v1/tokens", headers=auth[Role.OPERATOR])).status_code == 403
    # The site was created once: the refused requests changed nothing.
    sites = await client.get("/api/v1/sites", params={"q": "T1"}, headers=auth[Role.ADMIN])
    assert sites.json()["total"] == 1


async def test_admin_manages_tokens_and_secrets_are_shown_once(
    client: httpx.AsyncClient, auth: Headers, seeded: SessionMaker
) -> None:
    admin = auth[Role.ADMIN]
    created = await client.post(
        "/api/v1/tokens", json={"name": "wall screen", "role": "viewer"}, headers=admin
    )
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("bw_") and created.headers["cache-control"] == "no-store"

    listed = await client.get("/api/v1/tokens", headers=admin)
    assert secret not in listed.text
    assert all("token" not in item and "token_hash" not in item for item in listed.json())
    async with seeded() as session:
        stored = await session.scalar(select(ApiToken).where(ApiToken.name == "wall screen"))
    assert stored is not None and stored.token_hash == hash_secret(secret) != secret

    new = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/summary", headers=new)).status_code == 200
    token_id = created.json()["id"]
    assert (await client.delete(f"/api/v1/tokens/{token_id}", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/summary", headers=new)).status_code == 401
    used = next(
        t for t in (await client.get("/api/v1/tokens", headers=admin)).json() if t["id"] == token_id
    )
    assert used["revoked_at"] is not None and used["last_used_at"] is not None

    bad = await client.post(
        "/api/v1/tokens",
        json={"name": "x", "role": "root", "expires_at": "2020-01-01T00:00:00Z"},
        headers=admin,
    )
    assert bad.status_code == 422 and "role" in bad.json()["detail"]


async def test_anonymous_reads_only_when_enabled(settings: Settings, seeded: SessionMaker) -> None:
    open_settings = settings.model_copy(update={"anonymous_read": True})
    async with LifespanManager(create_app(open_settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as anonymous:
            assert (await anonymous.get("/api/v1/sites")).json()["total"] == 172
            write = await anonymous.patch("/api/v1/sites/040", json={"name": "x"})
            assert write.status_code == 401
            assert (await anonymous.get("/api/v1/tokens")).status_code == 401
