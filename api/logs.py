"""The API's and the worker's logs: one JSON object a line (structlog over the standard
logging, so the libraries' records come out the same way), each with its component, the
request's id or the workflow's, and the case number where there is one.

Never a name, a phone, an address or free text: the lines carry ids, route templates,
step names and codes, and the access line is written here (not by uvicorn, whose line
holds the query string a search for a phone number would put there). The database hides
its statements' parameters from errors (``api.db``), so a failed insert's values are not
logged with it either."""

import logging
import os
import re
import sys
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any, NoReturn

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import REQUESTS, template

access = logging.getLogger("weiquan.access")

_scope: ContextVar[Scope | None] = ContextVar("weiquan_scope", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# What a case number looks like: the deployment's prefix, its kind's letters, its year, and
# the rest (TS20261207000001, TB202611V1, SF2026GUICHI). Whatever else a path's case number
# holds (a phone or an ID number pasted into the address) stays out of the line.
_CASE_NO = re.compile(r"^[A-Z0-9]{0,6}[A-Z]{2}[0-9]{4}[A-Z0-9]{0,16}$")


def _context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The request's id and case number, read at the moment of the line (the router has
    filled the path's parameters by then)."""
    scope = _scope.get()
    if scope is not None:
        event.setdefault("request_id", scope.get("state", {}).get("request_id"))
        case_no = scope.get("path_params", {}).get("case_no")
        if isinstance(case_no, str) and _CASE_NO.match(case_no):
            event.setdefault("case_no", case_no)
    return event


def _plain(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's copy of the message, with terminal colours
    return event


def _temporal(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The Temporal SDK's own context (``temporal_activity``, ``temporal_workflow``),
    flattened to the ids; its other fields stay out."""
    for key in ("temporal_activity", "temporal_workflow"):
        found = event.pop(key, None)
        if isinstance(found, dict):
            for field in ("workflow_id", "workflow_type", "activity_type", "attempt"):
                if field in found:
                    event.setdefault(field, found[field])
    return event


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the standard error of the moment (one swapped after set-up included)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure(component: str, level: int = logging.INFO) -> None:
    """JSON lines on standard error, for every logger of the process."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _plain,
        _temporal,
        _context,
        lambda _, __, event: {"component": component, **event},
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = _StandardError()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # the access line is ours
    # httpx writes each URL it asks for, query string and all: its warnings only.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class RequestLog:
    """Gives each request its id (the client's ``X-Request-ID`` if well-formed, else a new
    one, echoed in the answer), writes its access line (method, route template, status,
    milliseconds) and times it for ``/metrics`` by the same route and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = _scope.set(scope)
        started = perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            took, route = perf_counter() - started, template(scope)
            REQUESTS.labels(scope["method"], route, str(status[0])).observe(took)
            access.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status[0],
                    "ms": round(took * 1000, 1),
                },
            )
            _scope.reset(token)


@contextmanager
def bound(**ids: str) -> Iterator[None]:
    """Ids (a workflow's, a case number) on every line logged within."""
    with structlog.contextvars.bound_contextvars(**ids):
        yield


def exit_now(code: int) -> NoReturn:
    """Ends a process whose work is done: its log lines written out, then out without the
    interpreter's finalization. The Temporal SDK's Rust threads (the client's and the
    worker's runtime) can call into Python while it finalizes, which aborts the process
    with "Fatal Python error: PyGILState_Release" after a clean stop: a status that says it
    crashed and lines in its log that are not JSON (temporalio/sdk-python#300)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or its reader gone
            pass
    os._exit(code)
