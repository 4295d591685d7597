"""API token bodies. The secret appears in one response only: the one that creates it."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import TIME_RANGE, Strict, Timestamp
from models.auth import Role
from models.topology.fields import ONE_LINE

TokenName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), ONE_LINE
]


class TokenCreate(Strict):
    name: TokenName
    role: Role
    expires_at: Timestamp | None = Field(
        None, description=f"In the future, {TIME_RANGE} in UTC; none: never expires."
    )


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str
