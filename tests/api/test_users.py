"""The admin keeps the users (用户管理): creates one where their role belongs, changes a
role or unit, disables and enables, resets a password. Each change is on record, a
password never; a disabled user is signed out at once and cannot sign in."""

import asyncio
from typing import Any

import pytest

from tests.conftest import Stack

# Checks that do not depend on the backend run on SQLite only, to keep the suite quick.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
USERS = "/api/v1/users"
NEW = {"username": "guichi-li", "password": "correct-horse-1", "role": "handler", "unit": "guichi"}


async def token_for(stack: Stack, username: str, password: str) -> int:
    response = await stack.api.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    return response.status_code


async def changes(stack: Stack, username: str) -> list[dict[str, Any]]:
    response = await stack.call("GET", f"{USERS}/{username}/changes", "auditor")
    assert response.status_code == 200, response.text
    return [c["change"] for c in response.json()["data"]]


async def test_the_admin_creates_moves_disables_and_resets_a_user(stack: Stack) -> None:
    created = await stack.call("POST", USERS, "admin", json=NEW)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "username": "guichi-li", "role": "handler", "unit": "guichi", "active": True
    }  # fmt: skip
    assert await token_for(stack, "guichi-li", NEW["password"]) == 200
    again = await stack.call("POST", USERS, "admin", json=NEW)
    assert again.status_code == 409 and again.json()["code"] == "users.taken"

    moved = await stack.call("PATCH", f"{USERS}/guichi-li", "admin", json={"unit": "dongzhi"})
    assert moved.status_code == 200 and moved.json()["unit"] == "dongzhi"
    supervisor = await stack.call(
        "PATCH", f"{USERS}/guichi-li", "admin", json={"role": "supervisor"}
    )
    assert supervisor.json()["role"] == "supervisor"
    off = await stack.call("PATCH", f"{USERS}/guichi-li", "admin", json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert await token_for(stack, "guichi-li", NEW["password"]) == 401

    await stack.call("PATCH", f"{USERS}/guichi-li", "admin", json={"active": True})
    issued = await stack.api.post(
        "/api/v1/auth/token", data={"username": "guichi-li", "password": NEW["password"]}
    )
    old = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert (await stack.api.get("/api/v1/me", headers=old)).status_code == 200
    await asyncio.sleep(1.1)  # tokens count whole seconds
    reset = await stack.call(
        "POST", f"{USERS}/guichi-li/password", "admin", json={"password": "battery-staple-2"}
    )
    assert reset.status_code == 204
    assert (await stack.api.get("/api/v1/me", headers=old)).status_code == 401
    await stack.call("PATCH", f"{USERS}/guichi-li", "admin", json={"active": False})
    on = await stack.call("PATCH", f"{USERS}/guichi-li", "admin", json={"active": True})
    assert on.json()["active"] is True
    assert await token_for(stack, "guichi-li", NEW["password"]) == 401
    assert await token_for(stack, "guichi-li", "battery-staple-2") == 200

    assert await changes(stack, "guichi-li") == [
        {"active": [False, True]},
        {"active": [True, False]},
        {"password": "reset"},
        {"active": [False, True]},
        {"active": [True, False]},
        {"role": ["handler", "supervisor"]},
        {"unit": ["guichi", "dongzhi"]},
        {"created": {"role": "handler", "unit": "guichi"}},
    ]
    listed = await stack.call("GET", USERS, "admin", params={"unit": "dongzhi"})
    assert "guichi-li" in [u["username"] for u in listed.json()["data"]]


@SQLITE_ONLY
async def test_a_user_sits_only_where_their_role_belongs_and_bad_input_names_the_field(
    stack: Stack,
) -> None:
    cases = [
        ({**NEW, "unit": "city"}, "users.wrong_unit", "unit"),  # a handler at the centre
        ({**NEW, "role": "operator"}, "users.wrong_unit", "unit"),  # an operator at a branch
        ({**NEW, "role": "station"}, "users.wrong_unit", "unit"),
        ({**NEW, "unit": "nowhere"}, "users.unknown_unit", "unit"),
        ({**NEW, "password": "short"}, "users.weak_password", "password"),
        ({**NEW, "username": "有 空格"}, "request.invalid", "username"),
        ({**NEW, "role": "king"}, "request.invalid", "role"),
    ]
    for body, code, field in cases:
        response = await stack.call("POST", USERS, "admin", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == code, body
        assert response.json()["detail"][0]["loc"][-1] == field, body
    station = {**NEW, "username": "st-wanda-2", "role": "station", "unit": "st-wanda"}
    assert (await stack.call("POST", USERS, "admin", json=station)).status_code == 201
    listed = await stack.call("GET", USERS, "admin")
    assert "guichi-li" not in [u["username"] for u in listed.json()["data"]]  # nothing half-made
    wrong = await stack.call("PATCH", f"{USERS}/guichi", "admin", json={"unit": "city"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "users.wrong_unit"
    missing = await stack.call("PATCH", f"{USERS}/nobody", "admin", json={"active": False})
    assert missing.status_code == 404 and missing.json()["code"] == "user.not_found"
    for someone in ("operator", "guichi", "supervisor", "st-wanda", "auditor"):
        body = {**NEW, "username": f"made-by-{someone}"}
        refused = await stack.call("POST", USERS, someone, json=body)
        assert refused.status_code == 403, someone


@SQLITE_ONLY
async def test_someone_is_always_left_to_keep_the_users(stack: Stack) -> None:
    myself = await stack.call("PATCH", f"{USERS}/admin", "admin", json={"active": False})
    assert myself.status_code == 409 and myself.json()["code"] == "users.self"
    demoted = await stack.call("PATCH", f"{USERS}/admin", "admin", json={"role": "auditor"})
    assert demoted.status_code == 409 and demoted.json()["code"] == "users.self"
    second = {"username": "admin2", "password": "correct-horse-1", "role": "admin", "unit": "city"}
    assert (await stack.call("POST", USERS, "admin", json=second)).status_code == 201
    await stack.login("admin2", "correct-horse-1")
    off = await stack.call("PATCH", f"{USERS}/admin", "admin2", json={"active": False})
    assert off.status_code == 200
    last = await stack.call("PATCH", f"{USERS}/admin2", "admin2", json={"active": False})
    assert last.status_code == 409 and last.json()["code"] == "users.self"
    assert await token_for(stack, "admin2", "correct-horse-1") == 200
