"""The case as of a moment (``GET /cases/{no}/history?as_of=``), and the fold it rests on
held against the live tables over generated walks through the lifecycle.

The walks run on the real stack (the dev server, the API, a worker): hypothesis draws the
case (a complaint or a report, received today or weeks ago, so that every rung of the
escalation is reached at once) and the choices at each turn (which open task to complete
with which decision, or a withdrawal, a pause, a resumption, an extension request). After
every turn, folding the whole history must give the case the tables hold. The walks are
few in CI (WEIQUAN_WALKS, default 6 per backend) and as many as asked by hand:
``WEIQUAN_WALKS=200 .venv/bin/pytest tests/api/test_as_of.py``.
"""

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from api.audit.projection import current
from api.casefile import history
from api.casefile.fold import CaseAsOf, fold
from api.casefile.lifecycle import Status, is_open
from api.casefile.models import Case
from api.deadlines.models import Deadline
from tests.conftest import Stack, open_task, register
from tests.factories import ZONE, complaint, eventually

WALKS = int(os.environ.get("WEIQUAN_WALKS", "6"))
REPORTER = {"name": "赵六", "phone": "13911112222", "id_number": "342901198805050011"}
TODAY = datetime.now(ZONE).date().isoformat()

# What may be decided on each kind of task: bodies the forms accept. A body the rules
# refuse in the state the case is in (a second extension) is answered 409, and the walk
# goes on.
MENU: dict[str, list[dict[str, Any]]] = {
    "triage": [
        {"decision": "accept", "unit": "guichi"},
        {"decision": "accept", "unit": "qingyang"},
        {"decision": "reject", "ground": "R15-1", "reason": "不属本局职责"},
        {"decision": "refer", "to": "池州市公安局", "reason": "涉嫌刑事犯罪"},
    ],
    "handle": [
        {
            "outcome": "agreement",
            "summary": "商家同意退货",
            "amount_recovered": 999,
            "reply": "已退",
        },
        {"outcome": "terminated", "ground": "T21-3", "reply": "被投诉人拒绝调解"},
        {"outcome": "return", "reason": "不属本分局辖区"},
    ],
    "notify_termination": [
        {"complainant": "phone", "respondent": "letter", "told_on": TODAY, "next": "end"},
        {"complainant": "sms", "respondent": "letter", "told_on": TODAY, "next": "litigation"},
    ],
    "court_outcome": [
        {"outcome": "judgment", "summary": "法院判决退款", "amount_recovered": "500.00"},
        {"outcome": "not_sued", "summary": "消费者未起诉"},
    ],
    "callback": [
        {"reached": True, "satisfaction": "satisfied"},
        {"reached": True, "satisfaction": "unsatisfied", "comment": "商家未履行"},
        {"reached": False},
    ],
    "review": [
        {"decision": "confirm", "reason": "处理得当"},
        {"decision": "redo", "reason": "请重新调解"},
    ],
    "supervise": [
        {"action": "urge", "note": "请抓紧办理"},
        {"action": "extend", "working_days": 5, "reason": "案情复杂"},
        {"action": "reassign", "unit": "dongzhi", "reason": "属东至县分局辖区"},
    ],
    "approve_extension": [
        {"approve": True, "reason": "同意延期"},
        {"approve": False, "reason": "理由不足"},
    ],
    "verify": [
        {"decision": "file", "reason": "有违法事实"},
        {"decision": "no_file", "reason": "证据不足"},
    ],
    "notify_reporter": [{"channel": "phone"}],
    "investigate": [
        {"decision": "penalty", "summary": "罚款"},
        {"decision": "no_violation", "summary": "未发现违法"},
    ],
}
# The case's other moves, besides its tasks.
MOVES = ["withdraw", "pause", "resume", "extension"]


def actor(task: dict[str, Any]) -> str:
    """The demo user who may complete the task: the role at the centre, else the unit's."""
    if task["unit"] == "city":
        return "supervisor" if task["role"] == "supervisor" else "operator"
    return str(task["unit"])


def agreeing(stack: Stack, case_no: str) -> tuple[CaseAsOf, CaseAsOf]:
    """The fold of the whole history and the live tables, read at one moment: read again
    if a step landed in between (every step writes its events with its changes)."""
    with stack.db() as session:
        while True:
            session.expire_all()  # read the rows afresh, not as an earlier turn left them
            before = history.head(session=session, case_no=case_no)
            folded = fold(case_no, history.events(session=session, case_no=case_no))
            live = current(session=session, case_no=case_no)
            if history.head(session=session, case_no=case_no) == before:
                return folded, live


async def open_tasks(stack: Stack, case_no: str) -> list[dict[str, Any]]:
    response = await stack.call("GET", "/api/v1/tasks", "supervisor", params={"case_no": case_no})
    assert response.status_code == 200, response.text
    return [t for t in response.json()["data"] if t["status"] in ("open", "claimed")]


def case_of(stack: Stack, case_no: str) -> tuple[Case, list[Deadline]]:
    """The case and its deadlines from the tables (a supervisor reading a report over HTTP
    would be a read of the reporter, on record each time)."""
    with stack.db() as session:
        case = session.exec(select(Case).where(Case.case_no == case_no)).one()
        deadlines = session.exec(
            select(Deadline).where(Deadline.case_no == case_no).order_by(col(Deadline.id))
        ).all()
        session.expunge_all()
        return case, list(deadlines)


async def settled(stack: Stack, case_no: str) -> list[dict[str, Any]]:
    """The case's open tasks once it has one, or [] once it is closed (or waits on time)."""

    async def ready() -> list[dict[str, Any]] | None:
        found = await open_tasks(stack, case_no)
        if found:
            return found
        return None if is_open(Status(case_of(stack, case_no)[0].status)) else []

    try:
        return await eventually(ready, timeout=5)  # type: ignore[no-any-return]
    except AssertionError:
        return []


async def move(stack: Stack, case_no: str, choice: str) -> int:
    """A move of the case besides its tasks; the status it was answered with."""
    case, deadlines = case_of(stack, case_no)
    running = [d.name for d in deadlines if d.state in ("pending", "paused")]
    base = f"/api/v1/cases/{case_no}"
    if choice == "withdraw":
        if case.kind != "complaint":
            return 0
        body = {"reason": "消费者与商家自行和解"}
        response = await stack.call("POST", f"{base}/withdraw", "operator", json=body)
        return response.status_code
    if not running:
        return 0
    deadline = running[-1]
    path, body = {
        "pause": ("pause", {"reason": "送检：池州市产品质量监督检验所"}),
        "resume": ("resume", {"note": "检验报告已出"}),
        "extension": ("extension", {"working_days": 5, "reason": "需补充调查"}),
    }[choice]
    response = await stack.call(
        "POST", f"{base}/deadlines/{deadline}/{path}", "supervisor", json=body
    )
    return response.status_code


async def walk(stack: Stack, kind: str, days_ago: int, choices: list[int]) -> None:
    received = (datetime.now(ZONE) - timedelta(days=days_ago, hours=1)).isoformat()
    if kind == "report":
        body = complaint(kind="report", reporter=REPORTER, received_at=received)
        del body["complainant"]
        response = await stack.call("POST", "/api/v1/cases", "operator", json=body)
        assert response.status_code == 201, response.text
        case_no = response.json()["case_no"]
    else:
        case_no = await register(stack, received_at=received)
    await open_task(stack, case_no, "triage", "operator")
    for choice in choices:
        folded, live = agreeing(stack, case_no)
        assert folded == live, f"{case_no}: the fold of the history is not the case"
        tasks = await settled(stack, case_no)
        options: list[tuple[dict[str, Any], dict[str, Any]] | str] = [
            (task, body) for task in tasks for body in MENU.get(task["kind"], [])
        ]
        if not options:
            break
        options += MOVES
        picked = options[choice % len(options)]
        if isinstance(picked, str):
            status = await move(stack, case_no, picked)
            assert status in (0, 200, 409), f"{picked}: {status}"
            continue
        task, body = picked
        response = await stack.call(
            "POST", f"/api/v1/tasks/{task['id']}/complete", actor(task), json=body
        )
        # 409: refused in this state (a second extension, a task just cancelled).
        assert response.status_code in (200, 409), response.text
    await asyncio.sleep(0.3)
    folded, live = agreeing(stack, case_no)
    assert folded == live, f"{case_no}: the fold of the history is not the case"


async def test_folding_the_history_gives_the_case_the_tables_hold(stack: Stack) -> None:
    loop = asyncio.get_running_loop()
    ran: list[str] = []

    def on_the_loop(coroutine: Callable[[], Awaitable[None]]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine(), loop).result(timeout=300)  # type: ignore[arg-type]

    @settings(
        max_examples=WALKS,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # a walk takes seconds: no shrinking, the example is printed
        suppress_health_check=list(HealthCheck),
    )
    @given(
        kind=st.sampled_from(["complaint", "report"]),
        days_ago=st.sampled_from([0, 9, 40]),
        choices=st.lists(st.integers(min_value=0, max_value=10_000), min_size=3, max_size=14),
    )
    def check(kind: str, days_ago: int, choices: list[int]) -> None:
        ran.append(kind)
        on_the_loop(lambda: walk(stack, kind, days_ago, choices))

    await asyncio.to_thread(check)
    assert len(ran) >= WALKS


# --- as of a moment, over HTTP ----------------------------------------------------------


async def test_as_of_gives_the_case_and_events_as_they_stood(stack: Stack) -> None:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    await asyncio.sleep(0.05)
    before = datetime.now(ZONE)
    await asyncio.sleep(0.05)
    done = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "accept", "unit": "guichi"},
    )
    assert done.status_code == 200, done.text
    await open_task(stack, case_no, "handle", "guichi")

    then = await stack.call(
        "GET", f"/api/v1/cases/{case_no}/history", "auditor", params={"as_of": before.isoformat()}
    )
    assert then.status_code == 200, then.text
    body = then.json()
    assert body["case"]["status"] == "triage"
    assert body["case"]["unit"] is None
    assert [t["kind"] for t in body["case"]["open_tasks"]] == ["triage"]
    assert {d["name"]: d["state"] for d in body["case"]["deadlines"]} == {"triage": "pending"}
    assert body["case"]["mediation"] is None
    assert all(datetime.fromisoformat(e["at"]) <= before for e in body["events"])
    assert "accepted" not in [e["type"] for e in body["events"]]

    now = await stack.call(
        "GET",
        f"/api/v1/cases/{case_no}/history",
        "auditor",
        params={"as_of": datetime.now(ZONE).isoformat()},
    )
    assert now.status_code == 200, now.text
    case = now.json()["case"]
    assert case["status"] == "handling"
    assert case["unit"] == "guichi"
    assert [t["kind"] for t in case["open_tasks"]] == ["handle"]
    assert {d["name"]: d["state"] for d in case["deadlines"]} == {
        "triage": "met",
        "handle": "pending",
    }
    assert case["mediation"]["rung"] == "administrative"
    plain = await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")
    assert "case" not in plain.json()
    assert len(plain.json()["events"]) == len(now.json()["events"])


async def test_as_of_without_an_offset_or_ahead_is_refused(stack: Stack) -> None:
    case_no = await register(stack)
    url = f"/api/v1/cases/{case_no}/history"
    naive = await stack.call("GET", url, "auditor", params={"as_of": "2026-11-13T17:00:00"})
    assert naive.status_code == 422, naive.text
    assert naive.json()["code"] == "as_of.no_offset"
    assert naive.json()["detail"][0]["loc"] == ["query", "as_of"]
    ahead = (datetime.now(ZONE) + timedelta(hours=1)).isoformat()
    future = await stack.call("GET", url, "auditor", params={"as_of": ahead})
    assert future.status_code == 422, future.text
    assert future.json()["code"] == "as_of.in_future"
    junk = await stack.call("GET", url, "auditor", params={"as_of": "yesterday"})
    assert junk.status_code == 422, junk.text


async def test_every_supervision_record_has_its_event(stack: Stack) -> None:
    """A case received twenty working days ago reaches every rung at once: each record
    /supervision/accountability lists has its event in the case's history."""
    received = (datetime.now(ZONE) - timedelta(days=30)).isoformat()
    case_no = await register(stack, received_at=received)

    async def criticised() -> bool:
        response = await stack.call(
            "GET", "/api/v1/supervision/accountability", "supervisor", params={"limit": 200}
        )
        assert response.status_code == 200, response.text
        kinds = {r["kind"] for r in response.json()["data"] if r["case_no"] == case_no}
        return {"overdue", "notice", "criticism", "accountability"} <= kinds

    await eventually(criticised, timeout=20)
    response = await stack.call(
        "GET", "/api/v1/supervision/accountability", "supervisor", params={"limit": 200}
    )
    records = [
        (r["kind"], r["deadline"]) for r in response.json()["data"] if r["case_no"] == case_no
    ]
    folded, _ = agreeing(stack, case_no)
    assert sorted(records) == sorted((s.kind, s.deadline) for s in folded.supervision)
