"""Shared by the API tests: every response is recorded so a test can assert no 500; the
API's JSON log lines, as a test reads them."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from api import logs
from tests.conftest import Stack


@pytest.fixture
def responses(stack: Stack) -> list[httpx.Response]:
    """Every response the test's requests receive, for assert_no_server_error."""
    seen: list[httpx.Response] = []

    async def record(response: httpx.Response) -> None:
        seen.append(response)

    stack.api.event_hooks["response"].append(record)
    return seen


def assert_no_server_error(responses: list[httpx.Response]) -> None:
    assert responses, "no response was recorded"
    errors = [
        f"{r.request.method} {r.request.url.path} -> {r.status_code}"
        for r in responses
        if r.status_code >= 500
    ]
    assert not errors, errors


@pytest.fixture
def json_logs() -> Iterator[None]:
    """The API's logging, as ``uvicorn api.main:app`` sets it, for this test only."""
    root = logging.getLogger()
    urls = logging.getLogger("httpx")
    kept = root.handlers[:], root.level, logging.getLogger("uvicorn.access").disabled, urls.level
    logs.configure("api")
    yield
    root.handlers[:], root.level = kept[0], kept[1]
    logging.getLogger("uvicorn.access").disabled = kept[2]
    urls.setLevel(kept[3])
    structlog.reset_defaults()


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
