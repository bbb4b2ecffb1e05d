"""Shared by the API tests: every response is recorded so a test can assert no 500."""

import httpx
import pytest

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
