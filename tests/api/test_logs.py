"""The API's log lines (issue 14, "Logs"): one JSON object a line, each request's with
its id (echoed to the client as ``X-Request-ID``), its route's template and the case
number of its path; never the query string nor a body's personal data.
``tests/e2e/test_stack.py`` greps the logs of a whole run of the real stack."""

import pytest

from tests.api.conftest import lines
from tests.conftest import Stack, register

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@SQLITE_ONLY
async def test_each_request_has_its_id_and_no_well_formed_one_is_lost(stack: Stack) -> None:
    made = (await stack.api.get("/healthz")).headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    given = await stack.api.get("/healthz", headers={"X-Request-ID": "proxy-7f3a.1"})
    assert given.headers["x-request-id"] == "proxy-7f3a.1"
    odd = await stack.api.get("/healthz", headers={"X-Request-ID": "13956781234 <script>"})
    assert len(odd.headers["x-request-id"]) == 32  # not taken: a fresh one


@SQLITE_ONLY
async def test_the_access_line_names_the_route_and_the_case_and_not_what_was_typed(
    stack: Stack, capsys: pytest.CaptureFixture[str], json_logs: None
) -> None:
    case_no = await register(stack, complainant={"name": "欧阳春燕", "phone": "13956781234"})
    read = await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")
    listed = await stack.call("GET", "/api/v1/cases", "operator", params={"q": "13956781234"})
    assert read.status_code == listed.status_code == 200
    written = capsys.readouterr().err
    assert "欧阳春燕" not in written and "13956781234" not in written
    found = lines(written)
    mine = [line for line in found if line.get("request_id") == read.headers["x-request-id"]]
    assert mine == [
        {
            "component": "api",
            "event": "request",
            "level": "info",
            "logger": "weiquan.access",
            "method": "GET",
            "route": "/api/v1/cases/{case_no}",
            "status": 200,
            "ms": mine[0]["ms"],
            "timestamp": mine[0]["timestamp"],
            "request_id": read.headers["x-request-id"],
            "case_no": case_no,
        }
    ]
    search = [line for line in found if line.get("request_id") == listed.headers["x-request-id"]]
    assert search and search[0]["route"] == "/api/v1/cases" and "case_no" not in search[0]


@SQLITE_ONLY
async def test_a_path_that_holds_no_case_number_puts_none_in_the_line(
    stack: Stack, capsys: pytest.CaptureFixture[str], json_logs: None
) -> None:
    """A phone or an ID number typed where a case number goes (404) stays out of the log."""
    for typed in ("13956781234", "34170219800101001X", "欧阳春燕"):
        answer = await stack.call("GET", f"/api/v1/cases/{typed}", "operator")
        assert answer.status_code == 404
    written = capsys.readouterr().err
    for typed in ("13956781234", "34170219800101001X", "欧阳春燕"):
        assert typed not in written
    assert [line["route"] for line in lines(written) if line.get("status") == 404] == [
        "/api/v1/cases/{case_no}"
    ] * 3
