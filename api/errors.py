"""The service's errors and their bodies: ``{"detail": …, "code": "<stable.code>"}`` for
every error (docs/api.md, "Errors"), and the request bodies no route may see (JSON strings
that are not Unicode).

Steps, services and routes raise the domain errors below; one handler at the edge
(``domain_error``) answers them with one body builder (``error_body``)."""

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

# The code of an error raised without one, by its status.
DEFAULT_CODES = {
    400: "request.bad",
    401: "auth.unauthenticated",
    403: "auth.forbidden",
    404: "not_found",
    405: "request.method_not_allowed",
    409: "conflict",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    422: "request.invalid",
    429: "request.too_many",
    503: "service.unavailable",
}


class DomainError(Exception):
    """An error of the service's own, raised by steps, services and routes alike, with its
    HTTP status and a stable code the clients and the workplace key their messages on.

    The one exception handler at the edge (``domain_error``) turns it into the error body.
    """

    status_code = 400
    default_code = "request.bad"

    def __init__(
        self, code: str | None, detail: Any, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.code = code or self.default_code
        self.detail = detail
        self.headers = headers

    @property
    def message(self) -> str:
        return str(self)


class Refused(DomainError):
    """A rule of the law or of the bureau refuses it now (one extension only, no consent)."""

    status_code = 409
    default_code = "step.refused"


class Conflict(DomainError):
    """Not possible in the state things are in: done already, not current, or stale."""

    status_code = 409
    default_code = "conflict"


class NotAllowed(DomainError):
    """Authenticated, but this person may not (role or unit)."""

    status_code = 403
    default_code = "auth.forbidden"


class NotFound(DomainError):
    """Unknown, or not visible to this person."""

    status_code = 404
    default_code = "not_found"


class Invalid(DomainError):
    """What was sent is wrong: each (field, message) names a field and why, in the shape
    FastAPI gives its own 422s."""

    status_code = 422
    default_code = "request.invalid"

    def __init__(
        self,
        *fields: tuple[str, str],
        code: str | None = None,
        where: str = "body",
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        """``errors``: FastAPI-shaped entries as they are (nested locations, several)."""
        super().__init__(
            code,
            [
                {"loc": [where, field], "msg": message, "type": "value_error"}
                for field, message in fields
            ]
            + (errors or []),
        )


class ApiError(DomainError):
    """An error with an explicit status (503s of the workflow service, and the like)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code, detail, headers)
        self.status_code = status_code


def conflict(code: str, message: str) -> Conflict:
    return Conflict(code, message)


def invalid(field: str, message: str, code: str = "request.invalid") -> Invalid:
    """A 422 naming the failing field of the body, in the shape FastAPI gives its own."""
    return Invalid((field, message), code=code)


def error_body(code: str, detail: Any) -> dict[str, Any]:
    """The body of every error response."""
    return {"detail": detail, "code": code}


class ErrorPublic(BaseModel):
    """The body of every error response."""

    detail: Any
    code: str


# Documented on every route: what any route can answer besides its own.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "No or bad credentials"},
    403: {"model": ErrorPublic, "description": "Authenticated, but not allowed (role or unit)"},
    404: {"model": ErrorPublic, "description": "Unknown, or not visible to this user"},
    409: {"model": ErrorPublic, "description": "Conflict: done already, not current, or stale"},
    503: {
        "model": ErrorPublic,
        "description": "Busy or a part unreachable (service.busy, service.unavailable): "
        "nothing was written unless the code says otherwise; send the same again",
    },
}


# What a route that sends a decision to a workflow can answer besides its success.
DECISION_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorPublic,
        "description": "The workflow service did not confirm the decision: it may still be "
        "applied; sending the same again is safe (applied once)",
    },
}


def code_of(exc: StarletteHTTPException) -> str:
    return getattr(exc, "code", None) or DEFAULT_CODES.get(exc.status_code, "error")


# FastAPI's answer to a body it cannot decode (bytes that are not UTF-8 JSON).
_UNPARSABLE_BODY = "There was an error parsing the body"


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
        # A 422 like any other unreadable body, naming the problem, as documented.
        return JSONResponse(
            error_body(
                "request.not_json",
                [{"loc": ["body"], "msg": "the body is not JSON in UTF-8", "type": "json_invalid"}],
            ),
            status_code=422,
        )
    return JSONResponse(
        error_body(code_of(exc), exc.detail), status_code=exc.status_code, headers=exc.headers
    )


async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse(
        jsonable_encoder(error_body(exc.code, exc.detail)),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, with the input it would echo left out: the echo could be text that
    cannot be encoded (a 500 that also dropped the connection), and it repeats what the
    client sent, personal data included."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        kept = {k: v for k, v in error.items() if k not in ("input", "url", "ctx")}
        if "ctx" in error:
            kept["ctx"] = {k: str(v) for k, v in error["ctx"].items()}
        errors.append(kept)
    return JSONResponse(error_body(DEFAULT_CODES[422], jsonable_encoder(errors)), status_code=422)


async def database_busy(_request: Request, exc: Exception) -> JSONResponse:
    """Overload, not a fault: no connection or no write lock within the timeout. Nothing was
    written (the transaction rolled back), so sending the same again is safe."""
    if isinstance(exc, OperationalError) and "database is locked" not in str(exc):
        raise exc
    return JSONResponse(
        error_body("service.busy", "the database is busy; send the same request again"),
        status_code=503,
        headers={"Retry-After": "1"},
    )


# A \ud800–\udfff escape in raw JSON: either half of a pair (fine) or a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")

ASGIApp = Callable[..., Awaitable[None]]
Scope = MutableMapping[str, Any]


class RejectNonUnicodeJSON:
    """Answers 422 to a JSON body holding a lone surrogate (``"\\ud800"``): valid JSON, but
    no Unicode text, so no database or encoder downstream could take it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        messages: list[Any] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(body):
            response = JSONResponse(
                error_body(
                    "request.not_unicode",
                    [
                        {
                            "loc": ["body"],
                            "msg": "the JSON holds a lone surrogate (e.g. \\ud800), "
                            "which is not Unicode text",
                            "type": "unicode_error",
                        }
                    ],
                ),
                status_code=422,
            )
            await response(scope, receive, send)
            return
        replay = iter(messages)

        async def replayed() -> Any:
            try:
                return next(replay)
            except StopIteration:
                return await receive()

        await self.app(scope, replayed, send)


def _has_lone_surrogate(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False  # not JSON at all: the route's own parsing answers that
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
