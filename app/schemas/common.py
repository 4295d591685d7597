"""Shapes shared by every resource: pages, bounded ids, offsets and times, plain text, problems.

The bounds are those of the databases: every id column is a PostgreSQL INTEGER, and a time must
stay a `datetime` in UTC. A value past them is refused with a 422 that says the range, instead
of reaching the database (where it used to fail as a 500).
"""

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

from app.problems import PROBLEM_JSON

T = TypeVar("T")

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER
MAX_OFFSET = MAX_ID  # no table holds more rows than ids
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
TIME_RANGE = "from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z"


class Strict(BaseModel):
    """Request bodies: an unknown field is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


def _in_range(value: datetime) -> datetime:
    # Aware datetimes compare by their UTC value without converting, so this cannot overflow.
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be {TIME_RANGE} once converted to UTC")
    return value.astimezone(UTC)


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]
"""A time with its offset (`2026-12-01T08:00:00+07:00`), held in UTC, inside TIME_RANGE."""

Id = Annotated[int, Path(ge=1, le=MAX_ID, description=f"1 to {MAX_ID}.", examples=[1])]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]

# RFC 9457 problem details as app/problems.py writes them. Inline (no $ref), so that every
# response can carry it without a component of its own.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "Always about:blank."},
        "title": {"type": "string", "description": "The status's phrase."},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What is wrong, for a person to act on."},
        "errors": {
            "type": "array",
            "description": "Invalid input (422, or 400 for a body that is not JSON): one entry "
            "per mistake, `loc` saying where (`body`, `query`, `path` and the field).",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}

WHY = {
    400: "A NUL character in the URL, a body that is not valid JSON or a bad Content-Length.",
    401: "No bearer token, or one that is unknown, revoked or expired.",
    403: "The token's role is too low for this.",
    404: "Nothing with that code or id.",
    409: "In conflict with what is stored.",
    413: "The request body is larger than this route accepts.",
    415: "The body is not of the media type this route reads.",
    422: "Invalid input: `detail` and `errors` say which and why.",
    503: "Not available right now (the database cannot be reached, no monitor holds the site); "
    "`Retry-After` says when to try again.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses, as application/problem+json."""
    return {
        status: {
            "description": WHY.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


# What every route under /api/v1 can answer whatever it does: a NUL in the URL or a body past
# the bound (app/edge.py), no valid token (app/deps.py), a database outage (app/problems.py).
EVERY_ROUTE = (400, 401, 413, 503)
