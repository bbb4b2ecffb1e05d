"""The web workplace, over HTTP as a browser sends it: the session cookie and its flags,
CSRF on every form, logout, the inbox, a task's generated form with its errors beside
the fields, and the case page with its deadlines, timeline and as-of view."""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from html import unescape
from typing import Any

import httpx
import pytest
from sqlmodel import select

from api import labels
from api.auth.models import WebSession
from api.casefile.models import Case
from api.tasks.models import Task
from api.users import service as users
from api.users.models import Role
from tests.conftest import Stack, open_task, register
from tests.factories import ZONE, eventually
from tests.mediation import accepted, both_consent, notice, terminate

PAGE = {"Accept": "text/html"}


class Browser:
    """A user's browser: its own cookie jar, and the forms' CSRF tokens read off pages."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        response = await self.http.get(url, headers=PAGE, **kw)
        found = re.search(r'name="csrf_token" value="([^"]*)"', response.text)
        if found and found.group(1):
            self.csrf = found.group(1)
        return response

    async def post(self, url: str, data: dict[str, str], csrf: bool = True) -> httpx.Response:
        form = {"csrf_token": self.csrf, **data} if csrf else data
        return await self.http.post(url, data=form, headers=PAGE)

    async def sign_in(self, username: str, password: str = "demo") -> httpx.Response:
        page = await self.http.get("/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
        assert token, page.text
        response = await self.http.post(
            "/login",
            data={"username": username, "password": password, "login_csrf": token.group(1)},
        )
        if response.status_code == 303:
            await self.get(response.headers["location"])
        return response


@asynccontextmanager
async def browser(
    stack: Stack, username: str | None = None, base: str = "http://api"
) -> AsyncIterator[Browser]:
    transport = stack.api._transport
    async with httpx.AsyncClient(transport=transport, base_url=base, timeout=60) as http:
        user = Browser(http)
        if username:
            signed = await user.sign_in(username)
            assert signed.status_code == 303, signed.text
        yield user


def text_of(html: str) -> str:
    """The page's text, tags left out, as a reader sees it."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def field_error(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error">([^<]*)<', html)
    return found.group(1) if found else ""


async def dispatched(stack: Stack) -> str:
    """A complaint accepted and sent to 贵池分局, its handling task open there."""
    case_no = await accepted(stack, "guichi")
    await open_task(stack, case_no, "handle", "guichi")
    return case_no


async def test_the_session_cookie_carries_its_flags_and_logout_ends_it(stack: Stack) -> None:
    async with browser(stack) as anna:
        # A page asks for sign-in first and comes back to where it was going.
        first = await anna.http.get("/inbox?kind=triage")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=/inbox%3Fkind%3Dtriage"

        wrong = await anna.sign_in("operator", "wrong")
        assert wrong.status_code == 401
        assert "用户名或密码错误" in wrong.text
        assert 'value="operator"' in wrong.text  # the name typed is kept

        signed = await anna.sign_in("operator")
        assert signed.status_code == 303
        cookie = next(
            c for c in signed.headers.get_list("set-cookie") if c.startswith("weiquan_session=")
        )
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert "httponly" in flags and "samesite=lax" in flags
        assert "secure" not in flags  # the embedded default is plain HTTP on loopback
        with stack.db() as session:
            rows = session.exec(select(WebSession)).all()
            token = anna.http.cookies["weiquan_session"]
            assert [r.username for r in rows] == ["operator"]
            assert token not in {r.token_hash for r in rows}  # only its hash is kept

        inbox = await anna.get("/inbox")
        assert inbox.status_code == 200 and "我的待办" in inbox.text

        # The cookie signs in the workplace only: the JSON API still wants its bearer token.
        assert (await anna.http.get("/api/v1/me")).status_code == 401
        assert (await stack.call("GET", "/api/v1/me", "operator")).status_code == 200

        refused = await anna.post("/logout", {}, csrf=False)
        assert refused.status_code == 403
        assert "页面已过期" in refused.text
        out = await anna.post("/logout", {})
        assert out.status_code == 303 and out.headers["location"] == "/login"

    # The cookie of an ended session signs no one in, even if a browser kept it.
    async with browser(stack) as thief:
        thief.http.cookies.set("weiquan_session", token)
        assert (await thief.http.get("/inbox")).status_code == 303


async def test_the_cookie_is_secure_in_production(stack: Stack) -> None:
    app_settings = stack.api._transport.app.state.settings  # type: ignore[attr-defined]
    stack.api._transport.app.state.settings = app_settings.model_copy(  # type: ignore[attr-defined]
        update={"session_cookie_secure": True}
    )
    try:
        # A Secure cookie comes back over HTTPS only.
        async with browser(stack, base="https://api") as anna:
            signed = await anna.sign_in("operator")
            cookie = next(
                c for c in signed.headers.get_list("set-cookie") if "weiquan_session=" in c
            )
            assert "secure" in {part.strip().lower() for part in cookie.split(";")}
    finally:
        stack.api._transport.app.state.settings = app_settings  # type: ignore[attr-defined]


async def test_a_login_form_without_its_token_is_refused(stack: Stack) -> None:
    async with browser(stack) as anna:
        response = await anna.http.post("/login", data={"username": "operator", "password": "demo"})
        assert response.status_code == 403
        assert "weiquan_session" not in anna.http.cookies


async def test_triage_in_the_browser_refuses_bad_input_beside_the_field_and_keeps_it(
    stack: Stack,
) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    async with browser(stack, "operator") as anna:
        page = await anna.get(f"/tasks/{triage['id']}")
        assert page.status_code == 200
        shown = text_of(page.text)
        for choice in ("受理，并分送承办单位", "不予受理", "移送其他部门"):
            assert choice in shown
        # The unit is suggested from the respondent's district, by its name.
        assert re.search(r'<option value="guichi" selected>贵池分局</option>', page.text)
        # Every non-acceptance ground shows its article and statutory text.
        assert "第十五条第一项 投诉事项不属于市场监督管理部门职责" in shown

        # A form posted without its CSRF token changes nothing.
        forged = await anna.post(
            f"/tasks/{triage['id']}", {"choice": "accept", "accept.unit": "guichi"}, csrf=False
        )
        assert forged.status_code == 403

        # Reject without a ground: the error is beside the ground, the reason is kept.
        missing = await anna.post(
            f"/tasks/{triage['id']}", {"choice": "reject", "reject.reason": "不属于本局管辖的纠纷"}
        )
        assert missing.status_code == 422
        assert field_error(missing.text, "f-reject-ground") == "必填"
        assert "不属于本局管辖的纠纷" in missing.text
        assert 'value="reject" checked' in missing.text

        # A ground that is not in the case's rule set.
        wrong = await anna.post(
            f"/tasks/{triage['id']}",
            {"choice": "reject", "reject.ground": "Z99", "reject.reason": "理由"},
        )
        assert wrong.status_code == 422
        assert field_error(wrong.text, "f-reject-ground") == "不是本案适用规则集中的不予受理依据"

        with stack.db() as session:
            task = session.get(Task, triage["id"])
            assert task is not None and task.status == "open"
            case = session.exec(select(Case).where(Case.case_no == case_no)).one()
            assert case.status == "triage"

        done = await anna.post(
            f"/tasks/{triage['id']}", {"choice": "accept", "accept.unit": "guichi"}
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/inbox?done=triage"
        after = await anna.get(done.headers["location"])
        assert "已办结：受理审查" in after.text

        case_page = text_of((await anna.get(f"/cases/{case_no}")).text)
        assert "处理中" in case_page and "贵池分局" in case_page
        assert "guichi" not in case_page


async def test_a_task_a_colleague_completed_a_moment_ago_is_refused_and_the_input_kept(
    stack: Stack,
) -> None:
    with stack.db() as session:
        users.create(
            session=session, username="operator2", password="demo", role=Role.OPERATOR, unit="city"
        )
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    async with browser(stack, "operator") as anna:
        page = await anna.get(f"/tasks/{triage['id']}")
        assert page.status_code == 200
        done = await stack.call(
            "POST",
            f"/api/v1/tasks/{triage['id']}/complete",
            "operator2",
            json={"decision": "refer", "to": "县卫健委", "reason": "属医疗纠纷"},
        )
        assert done.status_code == 200, done.text
        late = await anna.post(
            f"/tasks/{triage['id']}",
            {"choice": "reject", "reject.ground": "R15-1", "reject.reason": "我写的理由"},
        )
        assert late.status_code == 409
        assert "该待办已由同事办结" in late.text
        assert "我写的理由" in late.text  # what was typed is still there to copy
        assert re.search(r'<button type="submit" disabled', late.text)
        with stack.db() as session:
            case = session.exec(select(Case).where(Case.case_no == case_no)).one()
            assert case.status == "referred"


async def test_the_inbox_lists_claims_and_releases_and_its_rows_refresh(stack: Stack) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    async with browser(stack, "operator") as anna:
        inbox = await anna.get("/inbox?kind=triage")
        row = re.search(rf'<tr data-task="{triage["id"]}".*?</tr>', inbox.text, re.S)
        assert row, inbox.text
        row_text = text_of(row.group(0))
        assert "受理审查" in row_text and case_no in row_text
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日止", row_text)
        assert "剩余" in row_text or "今日到期" in row_text

        claimed = await anna.post(f"/tasks/{triage['id']}/claim", {"back": "/inbox"})
        assert claimed.status_code == 303
        rows = await anna.get("/inbox/rows?kind=triage")
        assert "已认领（operator）" in text_of(rows.text)
        assert "放弃认领" in rows.text

        released = await anna.post(f"/tasks/{triage['id']}/release", {"back": "/inbox"})
        assert released.status_code == 303
        with stack.db() as session:
            task = session.get(Task, triage["id"])
            assert task is not None and task.status == "open" and task.assignee is None

        # Filters: nothing of this case is overdue yet.
        overdue = await anna.get("/inbox/rows?state=overdue")
        assert case_no not in overdue.text


async def test_the_case_page_shows_deadlines_timeline_and_the_case_as_it_stood(
    stack: Stack,
) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    # The picker gives whole seconds: the moment before acceptance, a second after the rest.
    await asyncio.sleep(1.1)
    before = datetime.now(ZONE).replace(microsecond=0)
    await asyncio.sleep(1.1)
    done = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert done.status_code == 200, done.text
    async with browser(stack, "guichi") as handler:
        page = await handler.get(f"/cases/{case_no}")
        assert page.status_code == 200
        shown = text_of(page.text)
        assert "处理中" in shown and "贵池分局" in shown
        assert re.search(r"处理时限 \d{4}年\d{1,2}月\d{1,2}日止 剩余 \d+ 个工作日", shown), shown
        assert "按期完成" in shown  # the triage deadline, met
        for label in ("登记", "受理", "生成待办"):
            assert label in shown
        assert "张三" in shown  # a handler works with the complainant

        as_of = before.strftime("%Y-%m-%dT%H:%M:%S")
        then = text_of((await handler.get(f"/cases/{case_no}", params={"as_of": as_of})).text)
        assert "当时状态 受理审查" in then
        assert "当时承办单位 —" in then
        assert "当时待办 受理审查" in then

        future = (datetime.now(ZONE) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        ahead = await handler.get(f"/cases/{case_no}", params={"as_of": future})
        assert ahead.status_code == 422 and "所选时间晚于现在" in ahead.text

    async with browser(stack, "dongzhi") as other:
        response = await other.get(f"/cases/{case_no}")
        assert response.status_code == 404
        assert "未找到该案件" in response.text
        assert (await other.get(f"/search?no={case_no}")).status_code == 404

    async with browser(stack, "auditor") as auditor:
        found = await auditor.http.get(f"/search?no={case_no.lower()}")
        assert found.status_code == 303 and found.headers["location"] == f"/cases/{case_no}"
        shown = text_of((await auditor.get(found.headers["location"])).text)
        assert "张*" in shown and "张三" not in shown  # an auditor sees the parties masked


@pytest.mark.parametrize("path", ["/inbox", "/tasks/1", "/cases/TS1"])
async def test_every_page_wants_a_sign_in(stack: Stack, path: str) -> None:
    async with browser(stack) as nobody:
        response = await nobody.http.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


async def test_a_sealed_reporter_stays_sealed_on_the_case_page(stack: Stack) -> None:
    response = await stack.call(
        "POST",
        "/api/v1/cases",
        "operator",
        json={
            "kind": "report",
            "channel": "hotline",
            "reporter": {"name": "李四举报", "phone": "13911112222"},
            "respondent": {"name": "某超市", "district": "贵池区"},
            "description": "销售过期食品",
        },
    )
    assert response.status_code == 201, response.text
    case_no = response.json()["case_no"]
    async with browser(stack, "operator") as anna:
        page = await anna.get(f"/cases/{case_no}")
        assert page.status_code == 200
        assert "实名举报人身份已保密" in text_of(page.text)
        assert "李四举报" not in page.text and "13911112222" not in page.text


async def test_registering_in_the_browser_once_with_errors_beside_the_fields(
    stack: Stack,
) -> None:
    async with browser(stack, "operator") as anna:
        page = await anna.get("/register")
        assert page.status_code == 200
        ref = re.search(r'name="client_ref" value="([0-9a-f]+)"', page.text)
        assert ref
        assert 'data-unit="贵池分局"' in page.text  # a district suggests its branch
        assert "可以填过去的时间" in page.text

        form = {
            "client_ref": ref.group(1),
            "kind": "complaint",
            "channel": "hotline",
            "respondent.name": "某某家电商场",
            "respondent.district": "贵池区",
            "description": "冰箱不制冷",
            "received_at": (datetime.now(ZONE) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        }
        bad = await anna.post("/register", form)
        assert bad.status_code == 422
        assert field_error(bad.text, "r-complainant-name") == "投诉须填写投诉人"
        assert "冰箱不制冷" in bad.text and 'value="某某家电商场"' in bad.text
        assert "建议承办单位：贵池分局" in bad.text
        form["complainant.name"] = "王五"
        late = await anna.post("/register", form)
        assert field_error(late.text, "r-received_at") == "收到时间不能晚于现在"
        with stack.db() as session:
            assert session.exec(select(Case)).all() == []  # nothing half-written

        form["received_at"] = (datetime.now(ZONE) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
        first = await anna.post("/register", form)
        assert first.status_code == 303, text_of(first.text)
        again = await anna.post("/register", form)  # a double click
        assert again.status_code == 303
        assert again.headers["location"] == first.headers["location"]
        with stack.db() as session:
            registered = session.exec(select(Case)).all()
            assert len(registered) == 1
            assert registered[0].complainant == {"name": "王五"}
            assert registered[0].received_at < datetime.now(ZONE) - timedelta(days=2)
        case_page = text_of((await anna.get(first.headers["location"])).text)
        assert "王五" in case_page and "（建议：贵池分局）" in case_page

    async with browser(stack, "guichi") as handler:
        assert (await handler.get("/register")).status_code == 403


async def test_a_claimed_task_is_released_by_its_assignee_only(stack: Stack) -> None:
    with stack.db() as session:
        users.create(
            session=session, username="operator3", password="demo", role=Role.OPERATOR, unit="city"
        )
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    url = f"/api/v1/tasks/{triage['id']}"
    assert (await stack.call("POST", f"{url}/claim", "operator")).status_code == 200
    taken = await stack.call("POST", f"{url}/claim", "operator3")
    assert taken.status_code == 409 and taken.json()["code"] == "task.claimed"
    other = await stack.call("POST", f"{url}/release", "operator3")
    assert other.status_code == 409 and other.json()["code"] == "task.claimed"
    mine = await stack.call("POST", f"{url}/release", "operator")
    assert mine.status_code == 200 and mine.json()["status"] == "open"
    again = await stack.call("POST", f"{url}/release", "operator")
    assert again.status_code == 409 and again.json()["code"] == "task.not_claimed"
    assert (await stack.call("POST", f"{url}/claim", "operator3")).status_code == 200


# Who sees a complaint of 贵池 once it is dispatched there, and who may register.
ROLES = {
    "operator": (200, 200),
    "supervisor": (200, 403),
    "auditor": (200, 403),
    "admin": (200, 403),
    "guichi": (200, 403),
    "guichi-supervisor": (200, 403),
    "dongzhi": (404, 403),
    "dongzhi-supervisor": (404, 403),
    "st-wanda": (404, 200),
}


# The pages only some roles open (everyone else gets 403): who may.
ROLE_PAGES = {
    "/supervision": {"supervisor", "guichi-supervisor", "dongzhi-supervisor", "auditor", "admin"},
    "/supervision/accountability": {
        "supervisor", "guichi-supervisor", "dongzhi-supervisor", "auditor", "admin"
    },
    "/admin/rules": {"supervisor", "guichi-supervisor", "dongzhi-supervisor", "auditor", "admin"},
    "/admin/calendar": {"admin"},
    "/admin/users": {"admin"},
}  # fmt: skip


async def test_every_role_sees_the_pages_it_may_and_no_more(stack: Stack) -> None:
    case_no = await dispatched(stack)
    for username, (case_status, register_status) in ROLES.items():
        async with browser(stack, username) as someone:
            inbox = await someone.get("/inbox")
            assert inbox.status_code == 200, username
            assert (await someone.get(f"/cases/{case_no}")).status_code == case_status, username
            assert (await someone.get("/register")).status_code == register_status, username
            shown = text_of(inbox.text)
            assert "我的待办" in shown and "Traceback" not in shown
            if case_status == 404:
                assert case_no not in inbox.text  # nor its tasks
            for path, allowed in ROLE_PAGES.items():
                page = await someone.get(path)
                assert page.status_code == (200 if username in allowed else 403), (username, path)
                if page.status_code == 403:
                    assert "您的角色无权进行此操作" in text_of(page.text)
                if path != "/supervision/accountability":  # the dashboard links to it
                    # The navigation offers only what the role may open.
                    offered = f'href="{path}"' in inbox.text
                    assert offered == (username in allowed), (username, path)


async def test_the_supervisor_sees_what_runs_late_and_urges_it(stack: Stack) -> None:
    received = datetime.now(ZONE) - timedelta(days=30)  # about 20 working days ago
    case_no = await register(stack, received_at=received.isoformat())

    async def supervise_task() -> dict[str, Any] | None:
        found = await stack.call(
            "GET", "/api/v1/tasks", "supervisor", params={"case_no": case_no, "kind": "supervise"}
        )
        data = found.json()["data"]
        return data[0] if data else None

    task = await eventually(supervise_task)
    async with browser(stack, "supervisor") as sue:
        board = await sue.get("/supervision")
        assert board.status_code == 200
        row = re.search(r'<tr data-unit="city">.*?</tr>', board.text, re.S)
        assert row, board.text
        assert 'href="/supervision/overdue?unit=city">1<' in row.group(0)
        assert "池州市市场监督管理局" in row.group(0)
        # The twelve months' charts, drawn here as SVG, one line per branch.
        assert board.text.count("<svg") == 2 and "贵池分局" in board.text
        assert 'id="chart-on-time"' in board.text

        late = text_of((await sue.get("/supervision/overdue?unit=city")).text)
        assert case_no in late and "受理审查时限" in late
        assert re.search(r"已超期 \d+ 个工作日", late), late

        page = await sue.get(f"/tasks/{task['id']}")
        assert "催办" in text_of(page.text)
        urged = await sue.post(
            f"/tasks/{task['id']}", {"choice": "urge", "urge.note": "请于今日内完成受理审查"}
        )
        assert urged.status_code == 303, text_of(urged.text)
        records = text_of((await sue.get("/supervision/accountability?kind=urge")).text)
        assert case_no in records and "催办" in records

    async with browser(stack, "guichi-supervisor") as head:
        board = text_of((await head.get("/supervision")).text)
        assert "贵池分局" in board and "东至县局" not in board
        other = await head.get("/supervision/overdue?unit=dongzhi")
        assert other.status_code == 403 and "该单位不归您管理" in other.text

    async with browser(stack, "guichi") as handler:
        assert (await handler.get("/supervision")).status_code == 403


async def test_the_auditor_searches_cases_and_sees_the_record_verified(stack: Stack) -> None:
    old = (datetime.now(ZONE) - timedelta(days=40)).isoformat()
    first = await register(stack, received_at=old)
    second = await register(stack)
    triage = await open_task(stack, second, "triage", "operator")
    done = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert done.status_code == 200, done.text
    async with browser(stack, "auditor") as audrey:
        every = text_of((await audrey.get("/cases")).text)
        assert first in every and second in every and "共 2 件" in every
        by_unit = text_of((await audrey.get("/cases?unit=guichi&kind=complaint")).text)
        assert second in by_unit and first not in by_unit and "贵池分局" in by_unit
        recent = (datetime.now(ZONE) - timedelta(days=5)).date().isoformat()
        period = text_of((await audrey.get(f"/cases?from={recent}")).text)
        assert second in period and first not in period
        status = text_of((await audrey.get("/cases?status=handling")).text)
        assert second in status and first not in status

        page = await audrey.get(f"/cases/{second}")
        assert f'data-src="/cases/{second}/verification"' in page.text
        badge = await audrey.get(f"/cases/{second}/verification")
        assert badge.status_code == 200
        assert 'data-ok="true"' in badge.text and "记录完整" in text_of(badge.text)

    async with browser(stack, "dongzhi") as other:
        listed = text_of((await other.get("/cases")).text)
        assert second not in listed and "没有符合条件的案件" in listed
        assert (await other.get(f"/cases/{second}/verification")).status_code == 403


async def test_the_handler_pauses_the_clock_and_asks_for_an_extension_on_the_case_page(
    stack: Stack,
) -> None:
    case_no = await dispatched(stack)
    async with browser(stack, "guichi") as handler:
        page = await handler.get(f"/cases/{case_no}")
        assert f'action="/cases/{case_no}/deadlines/handle/extension"' in page.text
        assert 'for="c-handle-pause-reason"' in page.text

        missing = await handler.post(
            f"/cases/{case_no}/deadlines/handle/extension", {"working_days": "10"}
        )
        assert missing.status_code == 422
        assert field_error(missing.text, "c-handle-extension-reason") == "必填"
        assert (
            'id="c-handle-extension-working_days" name="working_days" type="number" value="10"'
            in (missing.text)
        )

        paused = await handler.post(
            f"/cases/{case_no}/deadlines/handle/pause", {"reason": "送省质检院检测冰箱压缩机"}
        )
        assert paused.status_code == 303, text_of(paused.text)
        shown = text_of((await handler.get(paused.headers["location"])).text)
        assert "已中止计时" in shown and "中止计时" in shown and "恢复计时" in shown

        again = await handler.post(
            f"/cases/{case_no}/deadlines/handle/pause", {"reason": "再次中止"}
        )
        assert again.status_code == 409 and "该时限未在计时" in again.text

        resumed = await handler.post(f"/cases/{case_no}/deadlines/handle/resume", {})
        assert resumed.status_code == 303
        asked = await handler.post(
            f"/cases/{case_no}/deadlines/handle/extension",
            {"working_days": "10", "reason": "需等待检测报告"},
        )
        assert asked.status_code == 303, text_of(asked.text)
    await open_task(stack, case_no, "approve_extension", "supervisor")

    async with browser(stack, "auditor") as auditor:
        shown = await auditor.get(f"/cases/{case_no}")
        assert "/deadlines/handle/extension" not in shown.text  # the clock is not theirs


async def test_the_branch_records_sessions_and_consents_while_it_mediates(stack: Stack) -> None:
    case_no = await dispatched(stack)
    today = datetime.now(ZONE).date().isoformat()
    async with browser(stack, "guichi") as handler:
        page = text_of((await handler.get(f"/cases/{case_no}")).text)
        assert "同意人民调解 未记录 未记录" in page

        empty = await handler.post(
            f"/cases/{case_no}/mediation/sessions", {"held_on": today, "place": "调解室"}
        )
        assert empty.status_code == 422
        assert field_error(empty.text, "m-sessions-minutes") == "必填"
        assert field_error(empty.text, "m-sessions-attendee_complainant")
        assert 'value="调解室"' in empty.text

        held = await handler.post(
            f"/cases/{case_no}/mediation/sessions",
            {
                "held_on": today,
                "place": "调解室",
                "attendee_complainant": "张三",
                "attendee_respondent": "某某家电商场",
                "minutes": "双方陈述，商家同意检测后再议",
            },
        )
        assert held.status_code == 303, text_of(held.text)
        agreed = await handler.post(
            f"/cases/{case_no}/mediation/consents",
            {"purpose": "people_mediation", "party": "complainant", "given": "true",
             "given_on": today, "form": "written"},
        )  # fmt: skip
        assert agreed.status_code == 303, text_of(agreed.text)
        shown = text_of((await handler.get(agreed.headers["location"])).text)
        assert "已记录当事人意见" in shown
        assert "双方陈述，商家同意检测后再议" in shown
        assert re.search(r"同意人民调解 同意（\d{4}年\d+月\d+日） 未记录", shown), shown

    async with browser(stack, "auditor") as auditor:
        shown = (await auditor.get(f"/cases/{case_no}")).text
        assert "/mediation/sessions" not in shown  # only the branch mediating records


async def test_the_admin_previews_which_deadlines_a_new_year_moves_then_saves_it(
    stack: Stack,
) -> None:
    from api.calendar.models import CalendarYear
    from api.deadlines.models import Deadline

    case_no = await dispatched(stack)
    with stack.db() as session:
        handle = session.exec(
            select(Deadline).where(Deadline.case_no == case_no, Deadline.name == "handle")
        ).one()
        before = handle.due_date
    year = before.year  # 45 working days on: the next year, as often as not
    async with browser(stack, "admin") as admin:
        page = text_of((await admin.get(f"/admin/calendar?year={year}")).text)
        assert f"{year} 年放假调休安排" in page

        # The handling's last day becomes a holiday: the deadline must move.
        arrangement = {"holidays": f"{year}-01-01\n{before.isoformat()}", "workdays": ""}
        weekday = date(year, 3, 1)
        while weekday.weekday() >= 5:
            weekday += timedelta(days=1)
        bad = await admin.post(
            f"/admin/calendar/{year}", {**arrangement, "workdays": weekday.isoformat()}
        )
        assert bad.status_code == 422
        assert field_error(bad.text, "cal-workdays") == f"{weekday} 调休上班日须是周六或周日"
        assert before.isoformat() in bad.text  # what was typed stays

        preview = await admin.post(f"/admin/calendar/{year}", {**arrangement, "action": "preview"})
        assert preview.status_code == 200
        row = re.search(
            rf"<tr><td data-label=\"案件\"><a href=\"/cases/{case_no}\">.*?</tr>",
            preview.text,
            re.S,
        )
        assert row, preview.text
        moved = text_of(row.group(0))
        assert "处理时限" in moved and f"{labels.day(before)}止" in moved
        assert moved.count("止") == 2 and moved.split()[-1] != f"{labels.day(before)}止"
        with stack.db() as session:
            assert session.get(CalendarYear, year) is None  # a preview saves nothing

        saved = await admin.post(f"/admin/calendar/{year}", {**arrangement, "action": "save"})
        assert saved.status_code == 200 and "已保存" in saved.text

        async def moved_on() -> bool:
            with stack.db() as session:
                found = session.get(Deadline, handle.id)
                return found is not None and found.due_date != before

        assert await eventually(moved_on)

    async with browser(stack, "supervisor") as sue:
        assert (await sue.get("/admin/calendar")).status_code == 403


async def test_a_station_registers_on_site_and_records_the_business_reconciling(
    stack: Stack,
) -> None:
    async with browser(stack, "st-wanda") as station:
        page = await station.get("/register")
        ref = re.search(r'name="client_ref" value="([0-9a-f]+)"', page.text)
        assert ref
        assert text_of(page.text).count("维权服务站") >= 1
        form = {
            "client_ref": ref.group(1),
            "kind": "complaint",
            "channel": "station",
            "complainant.name": "赵六",
            "respondent.name": "万达广场某服装店",
            "respondent.district": "贵池区",
            "description": "外套开线，要求退货",
        }
        registered = await station.post("/register", form)
        assert registered.status_code == 303, text_of(registered.text)
        case_no = registered.headers["location"].rsplit("/", 1)[1]
        with stack.db() as session:
            assert session.exec(select(Case)).one().case_no == case_no
        reconcile = await open_task(stack, case_no, "reconcile", "st-wanda")
        inbox = text_of((await station.get("/inbox")).text)
        assert "和解" in inbox and case_no in inbox

        task = await station.get(f"/tasks/{reconcile['id']}")
        assert "和解成功" in text_of(task.text)
        missing = await station.post(f"/tasks/{reconcile['id']}", {"choice": "settled"})
        assert missing.status_code == 422
        assert field_error(missing.text, "f-settled-summary") == "必填"
        done = await station.post(
            f"/tasks/{reconcile['id']}",
            {
                "choice": "settled",
                "settled.summary": "商家同意退货",
                "settled.amount_recovered": "399",
            },
        )
        assert done.status_code == 303, text_of(done.text)

        async def closed() -> bool:
            with stack.db() as session:
                found = session.exec(select(Case).where(Case.case_no == case_no)).one()
                return found.status == "closed"

        await eventually(closed)
        shown = text_of((await station.get(f"/cases/{case_no}")).text)
        assert "办结结果 和解成功" in shown
        assert "和解成功 ：挽回经济损失（元）：399.00" in shown
        listed = text_of((await station.get("/cases")).text)
        assert case_no in listed

    other_case = await register(stack)
    async with browser(stack, "st-wanda") as station:
        assert (await station.get(f"/cases/{other_case}")).status_code == 404
        assert other_case not in (await station.get("/cases")).text
    async with browser(stack, "st-jiuhua") as elsewhere:
        assert (await elsewhere.get(f"/cases/{case_no}")).status_code == 404
        assert case_no not in (await elsewhere.get("/inbox")).text


async def test_the_handler_reports_a_clue_from_the_case_page_once(stack: Stack) -> None:
    case_no = await dispatched(stack)
    async with browser(stack, "guichi") as handler:
        page = await handler.get(f"/cases/{case_no}")
        assert "登记关联举报" in page.text
        ref = re.search(r'name="client_ref" value="([0-9a-f]+)"', page.text)
        assert ref
        empty = await handler.post(
            f"/cases/{case_no}/reports", {"client_ref": ref.group(1), "campaign": "nope"}
        )
        assert empty.status_code == 422
        assert field_error(empty.text, "c-description") == "必填"
        form = {
            "client_ref": ref.group(1),
            "description": "调解中发现商家销售过期食品",
            "campaign": "children-products",
        }
        wrong = await handler.post(f"/cases/{case_no}/reports", {**form, "campaign": "nope"})
        assert wrong.status_code == 422
        assert field_error(wrong.text, "c-campaign") == "不是现有的专项整治"
        assert "调解中发现商家销售过期食品" in wrong.text
        first = await handler.post(f"/cases/{case_no}/reports", form)
        assert first.status_code == 303, text_of(first.text)
        again = await handler.post(f"/cases/{case_no}/reports", form)  # a double click
        assert again.status_code == 303, text_of(again.text)
        shown = text_of((await handler.get(first.headers["location"])).text)
        assert "已移交违法线索" in shown
    with stack.db() as session:
        reports = session.exec(select(Case).where(Case.kind == "report")).all()
        assert [(r.linked_case_no, r.campaign) for r in reports] == [(case_no, "children-products")]
        from api.casefile.models import Event

        noted = session.exec(
            select(Event).where(Event.case_no == case_no, Event.type == "clue_reported")
        ).all()
        assert len(noted) == 1
    await open_task(stack, reports[0].case_no, "triage", "operator")  # the centre's to triage
    async with browser(stack, "dongzhi") as other:
        assert (await other.post(f"/cases/{case_no}/reports", form)).status_code == 404
    async with browser(stack, "operator") as anna:
        assert "登记关联举报" not in (await anna.get(f"/cases/{case_no}")).text


async def test_a_move_the_parties_have_not_consented_to_cannot_be_chosen(stack: Stack) -> None:
    case_no = await dispatched(stack)
    await terminate(stack, case_no)
    told = await open_task(stack, case_no, "notify_termination", "guichi")
    async with browser(stack, "guichi") as handler:
        page = await handler.get(f"/tasks/{told['id']}")
        assert re.search(r'<option value="people" disabled>', page.text), page.text
        assert "须双方同意人民调解，投诉人的同意尚未记录" in text_of(page.text)
        assert re.search(r'<option value="litigation" >', page.text)

        sent = await handler.post(
            f"/tasks/{told['id']}", {**notice("people", "guichi-consumer"), "choice": ""}
        )  # a crafted post: refused all the same, and nothing changes
        assert sent.status_code == 409
        assert labels.ERROR["consent.missing"] in text_of(sent.text)
        with stack.db() as session:
            assert session.get(Task, told["id"]).status == "open"

        await both_consent(stack, case_no, "people_mediation")
        page = await handler.get(f"/tasks/{told['id']}")
        assert re.search(r'<option value="people" >', page.text)
        assert "不可选" not in text_of(page.text)


async def test_the_admin_keeps_the_users_in_the_browser(stack: Stack) -> None:
    async with browser(stack, "admin") as admin:
        page = await admin.get("/admin/users")
        assert page.status_code == 200
        assert "guichi" in page.text and "贵池分局" in text_of(page.text)
        form = {"username": "guichi-wang", "password": "short", "role": "handler", "unit": "city"}
        bad = await admin.post("/admin/users", form)
        assert bad.status_code == 422
        assert field_error(bad.text, "u-unit").startswith("该角色不能属于这个单位")
        assert 'value="guichi-wang"' in bad.text and 'value="short"' not in bad.text
        weak = await admin.post("/admin/users", {**form, "unit": "guichi"})
        assert field_error(weak.text, "u-password") == "密码太短"
        made = await admin.post(
            "/admin/users", {**form, "unit": "guichi", "password": "correct-horse-1"}
        )
        assert made.status_code == 303, text_of(made.text)
        taken = await admin.post(
            "/admin/users", {**form, "unit": "guichi", "password": "correct-horse-1"}
        )
        assert field_error(taken.text, "u-username") == "该用户名已被使用"

        async with browser(stack) as wang:
            signed = await wang.http.get("/login")
            token = re.search(r'name="login_csrf" value="([^"]+)"', signed.text)
            assert token
            login = {"username": "guichi-wang", "password": "correct-horse-1"}
            first = await wang.http.post("/login", data={**login, "login_csrf": token.group(1)})
            assert first.status_code == 303
            assert (await wang.get("/inbox")).status_code == 200

            person = "/admin/users/guichi-wang"
            moved = await admin.post(f"{person}/update", {"role": "supervisor", "unit": "guichi"})
            assert moved.status_code == 303
            off = await admin.post(f"{person}/disable", {})
            assert off.status_code == 303
            shown = text_of((await admin.get(off.headers["location"])).text)
            assert "已停用：该用户已退出登录" in shown and "状态 已停用" in shown
            assert "角色：承办人 → 督办人" in shown and "停用" in shown
            assert "创建：承办人，贵池分局" in shown
            out = await wang.get("/inbox")
            assert out.status_code == 303 and out.headers["location"].startswith("/login")

        myself = await admin.post("/admin/users/admin/disable", {})
        assert myself.status_code == 409
        assert "管理员不能停用自己" in text_of(myself.text)
        wrong = await admin.post(f"{person}/update", {"role": "operator", "unit": "guichi"})
        assert wrong.status_code == 422
        assert field_error(wrong.text, "p-unit").startswith("该角色不能属于这个单位")
        reset = await admin.post(f"{person}/password", {"password": "x"})
        assert field_error(reset.text, "p-password") == "密码太短"
        recorded = await stack.call("GET", "/api/v1/users/guichi-wang/changes", "auditor")
        assert [c["change"] for c in recorded.json()["data"]][:2] == [
            {"active": [True, False]},
            {"role": ["handler", "supervisor"]},
        ]  # the refused changes left nothing
        no_token = await admin.post(f"{person}/enable", {}, csrf=False)
        assert no_token.status_code == 403

    async with browser(stack, "supervisor") as supervisor:
        assert (await supervisor.get("/admin/users")).status_code == 403
        assert (await supervisor.post(f"{person}/enable", {})).status_code == 403
    with stack.db() as session:
        assert users.get_by_username(session=session, username="guichi-wang").active is False


async def test_the_admin_changes_a_rule_set_and_its_versions_show_what_changed(
    stack: Stack,
) -> None:
    async with browser(stack, "admin") as admin:
        listed = text_of((await admin.get("/admin/rules")).text)
        assert "市场监督管理投诉举报处理办法（总局令第121号）" in listed
        page = await admin.get("/admin/rules/samr-order-121")
        assert page.status_code == 200
        inputs = r'name="([a-z_.0-9]+)" (?:type="[a-z-]+" )?(?:min="1" )?(?:inputmode="numeric" )?'
        fields = dict(re.findall(inputs + r'value="([^"]*)"', page.text))
        texts = dict(
            re.findall(r'<textarea id="[^"]+" name="([^"]+)" rows="2" >([^<]*)<', page.text)
        )
        form = {**fields, **{k: unescape(v) for k, v in texts.items()}}
        assert form["limits.handle.working_days"] == "45"
        assert form["grounds.reject.0.code"] == "R15-1"
        assert "csrf_token" in form and form["version"] == "1"

        bad = await admin.post(
            "/admin/rules/samr-order-121",
            {**form, "limits.handle.working_days": "0", "limits.triage.working_days": "七"},
        )
        assert bad.status_code == 422
        assert field_error(bad.text, "limits-handle-working_days") == "须大于零"
        assert field_error(bad.text, "limits-triage-working_days") == "请填写整数"
        assert 'value="七"' in bad.text  # what was typed stays

        changed = {
            **form,
            "limits.triage.working_days": "5",
            "grounds.reject.6.code": "R15-7",
            "grounds.reject.6.article": "第十五条第七项",
            "grounds.reject.6.text": "试行新增的情形",
            "grounds.terminate.0.code": "",
        }
        saved = await admin.post("/admin/rules/samr-order-121", changed)
        assert saved.status_code == 303, text_of(saved.text)
        shown = text_of((await admin.get(saved.headers["location"])).text)
        assert "已保存为第 2 版" in shown
        assert "受理审查时限工作日：7 → 5" in shown
        assert "新增不予受理依据 R15-7（第十五条第七项）" in shown
        assert "删除终止调解依据 T21-1" in shown

        again = await admin.post("/admin/rules/samr-order-121", changed)  # sent twice
        assert again.status_code == 303 and again.headers["location"].endswith("saved=2")
        stale = await admin.post(  # another change from the form of version 1
            "/admin/rules/samr-order-121", {**changed, "limits.triage.working_days": "6"}
        )
        assert stale.status_code == 409
        assert "规则集已被他人修改" in text_of(stale.text)

    grounds = await stack.call(
        "GET", "/api/v1/rules/grounds", "operator", params={"kind": "reject"}
    )
    assert "R15-7" in [g["code"] for g in grounds.json()["data"]]

    # A case received under order no. 20 has that set's grounds, without the new one.
    older = await register(stack, received_at="2026-03-02T10:00:00+08:00")
    triage = await open_task(stack, older, "triage", "operator")
    newer = await register(stack)
    fresh = await open_task(stack, newer, "triage", "operator")
    async with browser(stack, "operator") as anna:
        assert "试行新增的情形" in (await anna.get(f"/tasks/{fresh['id']}")).text
        page = await anna.get(f"/tasks/{triage['id']}")
        assert "试行新增的情形" not in page.text and "第十五条第一项" in page.text
        wrong = await anna.post(
            f"/tasks/{triage['id']}",
            {"choice": "reject", "reject.ground": "R15-7", "reject.reason": "按新规不予受理"},
        )  # a ground of the other rule set
        assert wrong.status_code == 422
        assert field_error(wrong.text, "f-reject-ground") == "不是本案适用规则集中的不予受理依据"
        assert "按新规不予受理" in wrong.text
    async with browser(stack, "auditor") as auditor:
        page = await auditor.get("/admin/rules/samr-order-121")
        assert page.status_code == 200 and "保存为新版本" not in page.text
        assert "readonly" in page.text
        refused = await auditor.post("/admin/rules/samr-order-121", changed)
        assert refused.status_code == 403
    async with browser(stack, "guichi") as handler:
        assert (await handler.get("/admin/rules")).status_code == 403
