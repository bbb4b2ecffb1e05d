"""The rollup the steps keep (``api.supervision.rollup``) gives the bulletin's figures
exactly as a recount from the records does: after a random walk of complaints and reports
through the real workflows, with time passing on the time-skipping server so that
deadlines are missed and escalated (超期, 催办, 通报批评), and when built afresh.

``WEIQUAN_ROLLUP_SEED`` and ``WEIQUAN_ROLLUP_CASES`` choose the walk (the README gives the
long form)."""

import os
import random
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest_asyncio
from sqlalchemy import delete
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from api.bulletins.figures import Month, month_counts, recount_month
from api.config import Settings
from api.main import prepare_database
from api.migrations import migrate
from api.supervision import rollup
from api.supervision import service as supervision
from api.supervision.models import (
    CaseFigures,
    FigureDay,
    FigureMonth,
    RollupState,
    SupervisionRecord,
)
from api.units import service as units
from tests.api.test_bulletin_figures import NOVEMBER, build
from tests.api.test_reports import report
from tests.conftest import Database, Stack, register, running_stack
from tests.factories import ZONE

SEED = int(os.environ.get("WEIQUAN_ROLLUP_SEED", "20261203"))
CASES = int(os.environ.get("WEIQUAN_ROLLUP_CASES", "10"))
UNITS = ("guichi", "dongzhi", "qingyang")
OPERATOR, SUPERVISOR = "operator", "supervisor"
WHO = {
    "triage": OPERATOR,
    "callback": OPERATOR,
    "review": SUPERVISOR,
    "supervise": SUPERVISOR,
    "approve_extension": SUPERVISOR,
}


@pytest_asyncio.fixture
async def skipping_stack(
    database: Database, skipping_env: WorkflowEnvironment
) -> AsyncIterator[Stack]:
    async with running_stack(database, skipping_env.client) as stack:
        yield stack


def body_for(rng: random.Random, kind: str, unit: str, ground: str) -> dict[str, Any] | None:
    """A random decision on a task of ``kind`` (None: leave it open for now)."""
    if kind == "triage":
        return rng.choices(
            [
                {"decision": "accept", "unit": rng.choice(UNITS)},
                {"decision": "reject", "ground": ground, "reason": "不属于受理范围"},
                {"decision": "refer", "to": "税务局", "reason": "不属本局职责"},
            ],
            weights=[8, 1, 1],
        )[0]
    if kind == "handle":
        return rng.choices(
            [
                {
                    "outcome": "agreement",
                    "summary": "商家退款",
                    "reply": "双方达成协议",
                    "amount_recovered": f"{rng.randint(0, 50000) / 100:.2f}",
                },
                {"outcome": "return", "reason": "非本单位管辖"},
                None,
            ],
            weights=[6, 1, 2],
        )[0]
    if kind == "callback":
        satisfaction = rng.choice(["satisfied", "basically_satisfied", "unsatisfied", None])
        if satisfaction is None:
            return {"reached": False}
        return {"reached": True, "satisfaction": satisfaction}
    if kind == "review":
        return {"decision": rng.choice(["redo", "confirm"]), "reason": "复核"}
    if kind == "supervise":
        return {"action": "urge", "note": "请抓紧办理"}
    if kind == "approve_extension":
        return {"approve": rng.random() < 0.7, "reason": "审批"}
    if kind == "verify":
        return {"decision": rng.choice(["file", "no_file"]), "reason": "核查"}
    if kind == "notify_reporter":
        return rng.choice([{"channel": "phone"}, None])
    if kind == "investigate":
        return {"decision": rng.choice(["penalty", "no_violation"]), "summary": "调查终结"}
    return None


async def open_tasks(stack: Stack) -> list[dict[str, Any]]:
    found = await stack.call(
        "GET", "/api/v1/tasks", SUPERVISOR, params={"status": "open", "limit": 200}
    )
    assert found.status_code == 200, found.text
    data: list[dict[str, Any]] = found.json()["data"]
    return data


async def walk(stack: Stack, rng: random.Random, ground: str, rounds: int) -> int:
    """Acts on open tasks at random for a few rounds; returns the decisions taken."""
    taken = 0
    for _ in range(rounds):
        for task in await open_tasks(stack):
            if rng.random() < 0.25:
                continue  # not today
            body = body_for(rng, task["kind"], task["unit"], ground)
            if body is None:
                continue
            who = WHO.get(task["kind"], task["unit"])
            done = await stack.call("POST", f"/api/v1/tasks/{task['id']}/complete", who, json=body)
            # A task another step ended meanwhile (a deadline's 督办 met) is refused: fine.
            assert done.status_code in (200, 409), done.text
            taken += done.status_code == 200
        await stack.api.get("/health")
    return taken


async def withdraw_some(stack: Stack, rng: random.Random, numbers: list[str]) -> None:
    for no in rng.sample(numbers, k=max(1, len(numbers) // 6)):
        answer = await stack.call(
            "POST", f"/api/v1/cases/{no}/withdraw", OPERATOR, json={"reason": "投诉人撤回"}
        )
        assert answer.status_code in (200, 409), answer.text


def agree(stack: Stack, months: list[Month], start: date, end: date) -> None:
    """The rollup and the recount agree: each month's bulletin counts, the stats of the
    period, and the rollup built afresh row for row."""
    with stack.db() as session:
        for month in months:
            assert month_counts(session, month) == recount_month(session, month), month
        by_rollup = supervision.stats(session=session, unit=None, start=start, end=end)
        by_records = supervision.recount(session=session, unit=None, start=start, end=end)
        assert by_rollup == by_records
        kept = _rows(session)
        rollup.rebuild(session)
        assert _rows(session) == kept


def _rows(session: Session) -> dict[tuple[str, str, str], int]:
    """The rollup's rows by day and by month, those that count something."""
    days = {
        (r.unit, r.day.isoformat(), r.figure): r.value
        for r in session.exec(select(FigureDay))
        if r.value
    }
    months = {
        (r.unit, r.month, r.figure): r.value for r in session.exec(select(FigureMonth)) if r.value
    }
    return days | months


async def test_the_rollup_the_steps_keep_agrees_with_a_recount_after_a_random_walk(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack, rng = skipping_stack, random.Random(SEED)
    grounds = await stack.call("GET", "/api/v1/rules/grounds", OPERATOR, params={"kind": "reject"})
    ground = grounds.json()["data"][0]["code"]
    numbers = [await register(stack) for _ in range(CASES)]
    for _ in range(max(1, CASES // 3)):
        made = await stack.call("POST", "/api/v1/cases", OPERATOR, json=report())
        assert made.status_code == 201, made.text
        numbers.append(made.json()["case_no"])
    decided = await walk(stack, rng, ground, rounds=3)
    await withdraw_some(stack, rng, numbers)
    # Weeks pass: the deadlines still open are missed and climb the escalation.
    await skipping_env.sleep(timedelta(days=30))
    decided += await walk(stack, rng, ground, rounds=3)
    await skipping_env.sleep(timedelta(days=30))
    decided += await walk(stack, rng, ground, rounds=2)

    with stack.db() as session:
        escalated = session.exec(select(SupervisionRecord)).all()
        rows = _rows(session)
    figures = {f for _, _, f in rows}
    # The walk went where the figures are: replies, closures, callbacks, late work.
    assert decided >= CASES
    assert {"received", "accepted", "handled", "closed", "reached"} <= figures
    assert escalated and {"overdue", "supervised"} <= figures
    today = datetime.now(ZONE).date()
    month = Month(today.year, today.month)
    agree(stack, [month.before(), month, month.next()], today - timedelta(days=90), today)


def test_a_database_upgraded_to_the_rollup_gets_it_built_once(database: Database) -> None:
    """As after migration 0015 on a database with years of cases: the rollup is empty and
    due; the first start builds it from the records, and the next starts leave it be."""
    migrate(database.engine)
    with Session(database.engine) as session:
        units.load_org(session=session, path=Settings().org_file)
        build(session)
        for table in (FigureDay, FigureMonth, CaseFigures):
            session.execute(delete(table))
        state = session.get(RollupState, 1)
        assert state is not None
        state.built_at = None
        session.add(state)
        session.commit()
        assert month_counts(session, NOVEMBER)["guichi"]["handled"] == 0  # not built yet

    prepare_database(database.engine, database.settings)
    with Session(database.engine) as session:
        assert month_counts(session, NOVEMBER) == recount_month(session, NOVEMBER)
        assert month_counts(session, NOVEMBER)["guichi"]["handled"] == 6
        built = session.get(RollupState, 1)
        assert built is not None and built.built_at is not None
        first = built.built_at
    prepare_database(database.engine, database.settings)  # the next start
    with Session(database.engine) as session:
        again = session.get(RollupState, 1)
        assert again is not None and again.built_at == first
