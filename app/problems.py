"""Errors as RFC 9457 `application/problem+json`, with a `detail` a person can act on."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from models.db import is_outage

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
DATABASE_RETRY_SECONDS = 5


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    response = problem(exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(part) for part in error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    if any(error["type"] == "json_invalid" for error in errors):
        return problem(400, "the request body is not valid JSON", errors=errors)
    summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
    return problem(422, summary, errors=errors)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """An outage is the database's state, not our bug: 503 with a hint to retry, one log line
    (not a traceback per request while it lasts)."""
    if not is_outage(exc):
        return await _unexpected_error(request, exc)
    log.warning(
        "database not reachable", extra={"path": request.url.path, "error": type(exc).__name__}
    )
    response = problem(503, "the database cannot be reached at the moment; try again shortly")
    response.headers["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    return response


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem(500, "internal error; the server log has the details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(OSError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
