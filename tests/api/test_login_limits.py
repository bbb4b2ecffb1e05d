"""Login limits: a username or a client address with too many failed logins is locked
(429 with Retry-After) before its password is verified; every attempt is in the audit; an
admin unlocks a user.

The stack's settings have the default limits (5 per username, 20 per address, within 15
minutes, locked for 15). A test that needs other figures, or another client address,
builds the real app again over the test's database with ``api_from``.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from api.auth.models import LoginAttempt
from api.main import create_app
from api.users.models import User
from tests.api.conftest import assert_no_server_error
from tests.conftest import Stack

TOKEN = "/api/v1/auth/token"
LOGINS = "/api/v1/auth/logins"
WRONG = "not-the-password-7f3a"
STACK_ADDRESS = "127.0.0.1"  # httpx's ASGI transport reports this client address

# Checks that do not depend on the backend run on SQLite only, to keep the suite quick.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


async def sign_in(api: httpx.AsyncClient, username: str, password: str = "demo") -> httpx.Response:
    return await api.post(TOKEN, data={"username": username, "password": password})


@asynccontextmanager
async def api_from(
    stack: Stack, address: str = "203.0.113.7", **limits: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app over the test's database, with other login figures, as seen from
    ``address``."""
    settings = stack.settings.model_copy(update=limits)
    app = create_app(settings, engine=stack.engine, temporal_client=stack.client)
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=60) as api:
        yield api


async def audit(stack: Stack, username: str, as_: str = "auditor") -> list[dict[str, Any]]:
    """The audit rows of that name, newest first, read through the API."""
    response = await stack.call("GET", LOGINS, as_, params={"username": username})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    rows: list[dict[str, Any]] = body["data"]
    assert all(r["username"] == username for r in rows)
    return rows


def outcomes(rows: list[dict[str, Any]]) -> list[str]:
    return [r["outcome"] for r in rows]


def assert_locked(response: httpx.Response, code: str, *, at_most: int = 15 * 60) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= at_most
    body = response.json()
    assert body["code"] == code
    assert "locked" in body["detail"] and "try again in" in body["detail"]
    return retry_after


# The tests' own reads and writes of the database run in a thread, as the API's do: the
# event loop is for waiting (tests/conftest.py fails a statement run on it).


def move_back(stack: Stack, minutes: float, **where: str) -> None:
    """Moves recorded attempts into the past, as if that time had gone by."""
    with Session(stack.engine) as session:
        query = select(LoginAttempt)
        for column, value in where.items():
            query = query.where(col(getattr(LoginAttempt, column)) == value)
        for row in session.exec(query).all():
            row.at -= timedelta(minutes=minutes)
            session.add(row)
        session.commit()


def every_attempt(stack: Stack) -> list[LoginAttempt]:
    with Session(stack.engine) as session:
        return list(session.exec(select(LoginAttempt)).all())


def deactivate(stack: Stack, username: str) -> None:
    with Session(stack.engine) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        user.active = False
        session.add(user)
        session.commit()


async def test_after_five_wrong_passwords_the_right_one_gets_429_and_others_are_unaffected(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    for _ in range(5):
        wrong = await sign_in(stack.api, "operator", WRONG)
        assert wrong.status_code == 401, wrong.text

    right = await sign_in(stack.api, "operator")
    retry_after = assert_locked(right, "auth.locked")
    assert retry_after > 14 * 60  # locked for 15 minutes from the fifth failure
    assert "15 minutes" in right.json()["detail"]
    assert_locked(await sign_in(stack.api, "operator", WRONG), "auth.locked")

    # Another user, from the same address, signs in as usual.
    other = await sign_in(stack.api, "supervisor")
    assert other.status_code == 200, other.text

    rows = await audit(stack, "operator")
    assert outcomes(rows) == ["locked", "locked", "lockout"] + ["wrong_password"] * 5
    assert {r["client"] for r in rows} == {STACK_ADDRESS}
    assert all(r["by"] is None for r in rows)
    assert outcomes(await audit(stack, "supervisor")) == ["success"]
    # The password tried is stored nowhere.
    stored = await asyncio.to_thread(every_attempt, stack)
    values = [getattr(r, name) for r in stored for name in LoginAttempt.model_fields]
    assert stored and not any(WRONG in str(v) for v in values)
    assert_no_server_error(responses)


async def test_a_locked_attempt_is_refused_before_its_password_is_verified(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    """Had the password been verified, the right one would have been a success and a wrong
    one a wrong_password: the audit has neither, only the refusals."""
    async with api_from(stack, login_max_failures=2) as api:
        for _ in range(2):
            assert (await sign_in(api, "guichi", WRONG)).status_code == 401
        before = await audit(stack, "guichi")
        assert_locked(await sign_in(api, "guichi"), "auth.locked")
        assert_locked(await sign_in(api, "guichi", WRONG), "auth.locked")

    after = await audit(stack, "guichi")
    assert after[2:] == before
    assert outcomes(after) == ["locked", "locked", "lockout", "wrong_password", "wrong_password"]
    assert outcomes(after).count("wrong_password") == 2
    assert "success" not in outcomes(after)
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_unknown_names_and_inactive_accounts_are_counted_like_wrong_passwords(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    for _ in range(5):
        assert (await sign_in(stack.api, "nobody-here", WRONG)).status_code == 401
    # A name nobody has is locked like a real one: the answer does not tell them apart.
    assert_locked(await sign_in(stack.api, "nobody-here"), "auth.locked")
    probed = outcomes(await audit(stack, "nobody-here"))
    assert probed == ["locked", "lockout"] + ["unknown_user"] * 5

    # A very long name is recorded by its first 60 characters, and limited by them.
    long_name = "x" * 300
    assert (await sign_in(stack.api, long_name, WRONG)).status_code == 401
    assert outcomes(await audit(stack, "x" * 60)) == ["unknown_user"]

    await asyncio.to_thread(deactivate, stack, "jiuhuashan")
    refused = await sign_in(stack.api, "jiuhuashan")
    assert refused.status_code == 401, refused.text
    assert outcomes(await audit(stack, "jiuhuashan")) == ["inactive"]
    assert_no_server_error(responses)


async def test_an_address_over_its_limit_is_refused_for_every_name_and_others_are_not(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    limits = {"login_max_failures_per_client": 3}
    async with (
        api_from(stack, "203.0.113.7", **limits) as prober,
        api_from(stack, "198.51.100.20", **limits) as colleague,
    ):
        for name in ("probe-1", "probe-2", "operator"):
            assert (await sign_in(prober, name, WRONG)).status_code == 401
        # From that address even a right password of a user not locked is refused.
        assert_locked(await sign_in(prober, "supervisor"), "auth.too_many_attempts")
        assert_locked(await sign_in(prober, "probe-4", WRONG), "auth.too_many_attempts")
        # From another address the same users sign in.
        assert (await sign_in(colleague, "supervisor")).status_code == 200
        assert (await sign_in(colleague, "operator")).status_code == 200

    supervisor = await audit(stack, "supervisor")
    assert [(r["outcome"], r["client"]) for r in supervisor] == [
        ("success", "198.51.100.20"),
        ("too_many_attempts", "203.0.113.7"),
    ]
    assert outcomes(await audit(stack, "operator")) == [
        "success",
        "client_lockout",
        "wrong_password",
    ]
    assert outcomes(await audit(stack, "probe-4")) == ["too_many_attempts"]
    assert_no_server_error(responses)


async def test_a_lockout_ends_after_its_time_and_the_count_starts_afresh(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    async with api_from(
        stack, login_max_failures=2, login_window_minutes=60, login_lockout_minutes=15
    ) as api:
        for _ in range(2):
            assert (await sign_in(api, "qingyang", WRONG)).status_code == 401
        assert_locked(await sign_in(api, "qingyang"), "auth.locked")

        await asyncio.to_thread(move_back, stack, 10, username="qingyang")
        left = assert_locked(await sign_in(api, "qingyang"), "auth.locked")
        assert 4 * 60 < left <= 5 * 60
        assert "5 minutes" in (await sign_in(api, "qingyang")).json()["detail"]

        await asyncio.to_thread(move_back, stack, 5.1, username="qingyang")
        # The failures before the lockout are still within the hour's window, but the
        # lockout has ended, and with it their count: one failure does not lock again.
        assert (await sign_in(api, "qingyang", WRONG)).status_code == 401
        signed_in = await sign_in(api, "qingyang")
        assert signed_in.status_code == 200, signed_in.text

    assert outcomes(await audit(stack, "qingyang")) == [
        "success",
        "wrong_password",
        "locked",
        "locked",
        "locked",
        "lockout",
        "wrong_password",
        "wrong_password",
    ]
    assert_no_server_error(responses)


async def test_the_admin_unlocks_a_locked_user_who_signs_in_at_once(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    for _ in range(5):
        assert (await sign_in(stack.api, "dongzhi", WRONG)).status_code == 401
    assert_locked(await sign_in(stack.api, "dongzhi"), "auth.locked")

    for role_user in ("supervisor", "auditor", "operator", "dongzhi-supervisor"):
        refused = await stack.call("POST", "/api/v1/users/dongzhi/unlock", role_user)
        assert refused.status_code == 403, (role_user, refused.text)
    anonymous = await stack.api.post("/api/v1/users/dongzhi/unlock")
    assert anonymous.status_code == 401, anonymous.text
    assert_locked(await sign_in(stack.api, "dongzhi"), "auth.locked")

    unknown = await stack.call("POST", "/api/v1/users/nobody-here/unlock", "admin")
    assert unknown.status_code == 404, unknown.text

    unlocked = await stack.call("POST", "/api/v1/users/dongzhi/unlock", "admin")
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {"username": "dongzhi", "locked": False, "was_locked": True}
    signed_in = await sign_in(stack.api, "dongzhi")
    assert signed_in.status_code == 200, signed_in.text

    rows = await audit(stack, "dongzhi")
    assert outcomes(rows)[:4] == ["success", "unlocked", "locked", "locked"]
    assert rows[1]["by"] == "admin" and rows[1]["client"] is None

    # Unlocking a user who is not locked says so, and starts their count afresh too.
    again = await stack.call("POST", "/api/v1/users/dongzhi/unlock", "admin")
    assert again.json() == {"username": "dongzhi", "locked": False, "was_locked": False}
    assert_no_server_error(responses)


@SQLITE_ONLY
async def test_the_login_audit_is_read_by_admins_and_auditors_only(
    stack: Stack, responses: list[httpx.Response]
) -> None:
    for _ in range(3):
        assert (await sign_in(stack.api, "shitai", WRONG)).status_code == 401

    for reader in ("admin", "auditor"):
        seen = await stack.call("GET", LOGINS, reader)
        assert seen.status_code == 200, (reader, seen.text)
    for other in ("operator", "supervisor", "guichi", "st-wanda"):
        refused = await stack.call("GET", LOGINS, other)
        assert refused.status_code == 403, (other, refused.text)
    assert (await stack.api.get(LOGINS)).status_code == 401

    everyone = (await stack.call("GET", LOGINS, "auditor", params={"limit": 500})).json()
    assert everyone["count"] == len(everyone["data"])
    stamps = [r["at"] for r in everyone["data"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    assert {"shitai", "admin", "auditor"} <= {r["username"] for r in everyone["data"]}

    page = await stack.call(
        "GET", LOGINS, "admin", params={"username": "shitai", "limit": 1, "offset": 1}
    )
    assert page.status_code == 200, page.text
    assert page.json()["count"] == 3 and len(page.json()["data"]) == 1
    assert page.json()["data"][0]["id"] == (await audit(stack, "shitai"))[1]["id"]

    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"offset": 2**31}):
        bad = await stack.call("GET", LOGINS, "admin", params=params)
        assert bad.status_code == 422, (params, bad.text)
    assert_no_server_error(responses)
