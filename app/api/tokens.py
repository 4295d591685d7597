"""/api/v1/tokens: API tokens, managed by admins."""

from fastapi import APIRouter, HTTPException, Response
from sqlalchemy import select

from app.deps import Admin, SessionDep
from app.schemas.common import EVERY_ROUTE, Id, problems
from app.schemas.tokens import TokenCreate, TokenCreated, TokenPublic
from models.auth import ApiToken, issue_token
from models.base import utcnow

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=problems(*EVERY_ROUTE, 403))


@router.get("", summary="List tokens (never their secrets)")
async def list_tokens(session: SessionDep, _: Admin) -> list[TokenPublic]:
    tokens = await session.scalars(select(ApiToken).order_by(ApiToken.id))
    return [TokenPublic.model_validate(token) for token in tokens]


@router.post(
    "",
    status_code=201,
    summary="Create a token; its secret is shown this once",
    responses=problems(422),
)
async def create_token(
    body: TokenCreate, session: SessionDep, _: Admin, response: Response
) -> TokenCreated:
    if body.expires_at is not None and body.expires_at <= utcnow():
        raise HTTPException(422, "expires_at is in the past")
    token, secret = await issue_token(session, body.name, body.role, body.expires_at)
    await session.commit()
    response.headers["Location"] = f"/api/v1/tokens/{token.id}"
    response.headers["Cache-Control"] = "no-store"
    return TokenCreated.model_validate(
        {**TokenPublic.model_validate(token).model_dump(), "token": secret}
    )


@router.delete(
    "/{token_id}", status_code=204, summary="Revoke a token", responses=problems(404, 422)
)
async def revoke_token(token_id: Id, session: SessionDep, _: Admin) -> None:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise HTTPException(404, f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.commit()
