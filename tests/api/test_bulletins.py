"""The bulletin's life (通报): a month started by hand or by the schedule is drafted with
its figures frozen, reviewed and published by the city supervisor with its number and its
hash, read by every branch's head, and corrected by a new version that cites the old.

The month is November 2026 of ``tests.api.test_bulletin_figures`` (its hand-computed
figures), so what is published is checked against figures known by hand."""

import hashlib
import json
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlmodel import col, select
from temporalio.client import ScheduleBackfill, ScheduleCalendarSpec, ScheduleOverlapPolicy

from api.casefile.models import Event
from api.workdays import ZONE
from tests.api.test_bulletin_figures import build, check_workbook
from tests.api.test_checkpoints import checkpoint
from tests.api.test_verify import verify
from tests.conftest import Stack, open_task
from tests.factories import eventually
from worker import ensure_bulletin_schedule
from workflows.bulletin import schedule_id

CITY = "supervisor"  # the city centre's supervisor (市局督办人)
HEAD = "dongzhi-supervisor"  # a branch's head


def file_no(stack: Stack, month: str = "202611", version: int = 1) -> str:
    """A bulletin's file number, after the test database's case number prefix."""
    return f"{stack.settings.case_no_prefix}TB{month}V{version}"


def canonical_sha256(content: dict[str, Any]) -> str:
    """The hash as docs/bulletin.md tells an outside system to take it."""
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def start(stack: Stack, month: str = "2026-11") -> dict[str, Any]:
    started = await stack.call("POST", "/api/v1/bulletins", CITY, json={"month": month})
    assert started.status_code == 201, started.text
    body: dict[str, Any] = started.json()
    return body


async def publish(stack: Stack, file_no: str) -> None:
    task = await open_task(stack, file_no, "review_bulletin", CITY)
    done = await stack.call(
        "POST", f"/api/v1/tasks/{task['id']}/complete", CITY, json={"decision": "publish"}
    )
    assert done.status_code == 200, done.text


async def test_a_month_is_drafted_reviewed_published_and_read_by_every_branch(
    stack: Stack, tmp_path: Path
) -> None:
    v1 = file_no(stack)
    with stack.db() as session:
        build(session)
    # Only the city's supervisors start, see and edit a draft; a month not over has none.
    refused = await stack.call("POST", "/api/v1/bulletins", HEAD, json={"month": "2026-11"})
    assert refused.status_code == 403
    early = await stack.call("POST", "/api/v1/bulletins", CITY, json={"month": "2026-12"})
    assert early.status_code == 422 and early.json()["code"] == "bulletin.month_not_over"
    bad = await stack.call("POST", "/api/v1/bulletins", CITY, json={"month": "2026-13"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "month"]

    opened = await start(stack)
    assert (opened["file_no"], opened["state"], opened["number"]) == (v1, "draft", None)
    again = await stack.call("POST", "/api/v1/bulletins", CITY, json={"month": "2026-11"})
    assert again.status_code == 200 and again.json()["file_no"] == v1

    task = await open_task(stack, v1, "review_bulletin", CITY)
    assert task["unit"] == "city" and task["role"] == "supervisor"
    assert (await stack.call("GET", f"/api/v1/tasks/{task['id']}", HEAD)).status_code == 404

    # The draft holds the figures computed by hand, frozen; the criticisms pre-filled.
    draft = (await stack.call("GET", "/api/v1/bulletins/2026-11?version=1", CITY)).json()
    figures = draft["content"]["figures"]
    guichi = next(b for b in figures["branches"] if b["unit"] == "guichi")
    assert guichi["on_time_rate"] == round(5 / 6, 4) and guichi["rank"] == 4
    assert figures["city"]["handled"] == 22
    assert draft["content"]["criticisms"] == [
        {"unit": "guichi", "reason": "处理时限超期，经催办仍未办结", "case_no": "TS-2"}
    ]
    assert draft["content"]["foreword"][0].startswith("2026年11月，12315指挥中心分送")
    for who in (HEAD, "auditor"):
        hidden = await stack.call("GET", "/api/v1/bulletins/2026-11?version=1", who)
        assert hidden.status_code == 404 and hidden.json()["code"] == "bulletin.not_published"
        latest = await stack.call("GET", "/api/v1/bulletins/2026-11", who)
        assert latest.status_code == 404
        listed = (await stack.call("GET", "/api/v1/bulletins", who)).json()
        assert listed["count"] == 0
    assert (await stack.call("GET", "/api/v1/bulletins", CITY)).json()["count"] == 1

    # The supervisor edits it: a report is never named, a criticism names a branch.
    url = "/api/v1/bulletins/2026-11/draft"
    foreword = ["本月全市投诉处理总体平稳。", "现将各单位情况通报如下。"]
    named = await stack.call(
        "PUT",
        url,
        CITY,
        json={
            "foreword": foreword,
            "criticisms": [{"unit": "guichi", "reason": "超期", "case_no": "JB-1"}],
        },
    )
    assert named.status_code == 422 and named.json()["code"] == "bulletin.report_named"
    nowhere = await stack.call(
        "PUT",
        url,
        CITY,
        json={"foreword": foreword, "criticisms": [{"unit": "mars", "reason": "x"}]},
    )
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "bulletin.unknown_unit"
    assert (
        await stack.call("PUT", url, HEAD, json={"foreword": [], "criticisms": []})
    ).status_code == 403
    criticisms = [
        {"unit": "guichi", "reason": "处理时限超期，经催办仍未办结", "case_no": "TS-2"},
        {"unit": "dongzhi", "reason": "回访满意率连续两月下降"},
    ]
    saved = await stack.call(
        "PUT", url, CITY, json={"foreword": foreword, "criticisms": criticisms}
    )
    assert saved.status_code == 200, saved.text

    await publish(stack, v1)

    # Every branch's head reads what was published: its number, its day, its hash.
    found = await stack.call("GET", "/api/v1/bulletins/2026-11", HEAD)
    assert found.status_code == 200, found.text
    published = found.json()
    today = datetime.now(ZONE).date()
    assert published["state"] == "published" and published["version"] == 1
    assert published["number"] == f"池市监消〔{today.year}〕1号"
    assert published["dated"] == today.isoformat()
    assert published["content"]["number"] == published["number"]
    assert published["content"]["foreword"] == foreword
    assert published["content"]["criticisms"][1] == {
        "unit": "dongzhi",
        "reason": "回访满意率连续两月下降",
        "case_no": None,
    }
    assert published["sha256"] == canonical_sha256(published["content"])
    assert published["content"]["figures"] == figures  # frozen when drafted

    # Its hash is in its history, and its history's head in the audit checkpoint.
    with stack.db() as session:
        events = session.exec(
            select(Event).where(Event.case_no == v1).order_by(col(Event.seq))
        ).all()
    kinds = [e.type for e in events]
    assert kinds[0] == "registered" and "bulletin_drafted" in kinds and "bulletin_edited" in kinds
    (event,) = [e for e in events if e.type == "bulletin_published"]
    assert event.data["sha256"] == published["sha256"] and event.actor == CITY
    taken = await checkpoint(stack)
    proof = await stack.call(
        "GET",
        f"/api/v1/audit/checkpoints/{taken['id']}/proof",
        "auditor",
        params={"case_no": v1},
    )
    assert proof.status_code == 200, proof.text
    with stack.db() as session:
        head = session.exec(
            select(Event).where(Event.case_no == v1).order_by(col(Event.seq).desc())
        ).first()
    assert head is not None and head.seq > events[-1].seq and head.type == "history_archived"
    assert proof.json()["leaf"]["head"] == head.hash
    assert (await verify(stack, v1))["ok"] is True

    # Published, it is immutable: no edit, and later records do not move its figures.
    late = await stack.call("PUT", url, CITY, json={"foreword": ["改"], "criticisms": []})
    assert late.status_code == 409 and late.json()["code"] == "bulletin.published"
    with stack.db() as session:
        from tests.api.test_bulletin_figures import Fixture, at

        Fixture(session).case("TS-99", "dongzhi", at(11, 20))
        session.commit()
    reread = (await stack.call("GET", "/api/v1/bulletins/2026-11", HEAD)).json()
    assert reread["sha256"] == published["sha256"] and reread["content"] == published["content"]

    # The spreadsheet and the document, from what was published.
    sheet = await stack.call("GET", "/api/v1/bulletins/2026-11?format=xlsx", HEAD)
    assert sheet.status_code == 200
    (tmp_path / "published.xlsx").write_bytes(sheet.content)
    check_workbook(tmp_path / "published.xlsx")
    printed = await stack.call("GET", "/api/v1/bulletins/2026-11?format=pdf", HEAD)
    assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(printed.content)).pages)
    flat = text.replace(" ", "").replace("\n", "")
    assert published["number"] in flat and "草稿" not in flat
    assert "本月全市投诉处理总体平稳。" in flat and "回访满意率连续两月下降" in flat


async def test_a_correction_is_a_new_version_that_cites_the_one_it_replaces(
    stack: Stack,
) -> None:
    v1, v2 = file_no(stack), file_no(stack, version=2)
    with stack.db() as session:
        build(session)
    url = "/api/v1/bulletins/2026-11/corrections"
    nothing = await stack.call("POST", url, CITY, json={"reason": "东至县局数据有误"})
    assert nothing.status_code == 409 and nothing.json()["code"] == "bulletin.nothing_to_correct"
    first = await start(stack)
    await publish(stack, first["file_no"])
    was = (await stack.call("GET", "/api/v1/bulletins/2026-11", HEAD)).json()

    assert (await stack.call("POST", url, HEAD, json={"reason": "x"})).status_code == 403
    asked = await stack.call("POST", url, CITY, json={"reason": "东至县局数据有误"})
    assert asked.status_code == 201, asked.text
    correction = asked.json()
    assert (correction["file_no"], correction["version"]) == (v2, 2)
    assert correction["replaces"] == v1
    # The same request again (its answer lost) is the same draft; another is refused.
    same = await stack.call("POST", url, CITY, json={"reason": "东至县局数据有误"})
    assert same.status_code == 201 and same.json()["file_no"] == v2
    other = await stack.call("POST", url, CITY, json={"reason": "另一处更正"})
    assert other.status_code == 409 and other.json()["code"] == "bulletin.draft_open"
    # Until the correction is published, the first version is the bulletin.
    assert (await stack.call("GET", "/api/v1/bulletins/2026-11", HEAD)).json()["version"] == 1

    await publish(stack, v2)
    latest = (await stack.call("GET", "/api/v1/bulletins/2026-11", HEAD)).json()
    assert latest["version"] == 2 and latest["number"].endswith("〕2号")
    assert latest["content"]["replaces"] == v1
    assert latest["content"]["reason"] == "东至县局数据有误"
    old = (await stack.call("GET", "/api/v1/bulletins/2026-11?version=1", HEAD)).json()
    assert old["superseded_by"] == v2
    assert (old["sha256"], old["content"]) == (was["sha256"], was["content"])  # both readable
    listed = (await stack.call("GET", "/api/v1/bulletins", HEAD)).json()
    assert [(b["month"], b["version"]) for b in listed["data"]] == [("2026-11", 2), ("2026-11", 1)]


async def test_the_schedule_drafts_each_missed_month_once(stack: Stack) -> None:
    """Backfilling the schedule over November and December runs it as if missed while the
    server was down: each run covers the month before its due time, and running the same
    times again makes no second bulletin."""
    await ensure_bulletin_schedule(stack.client, stack.settings)
    await ensure_bulletin_schedule(stack.client, stack.settings)  # updated, not doubled
    schedule = schedule_id(stack.settings.case_no_prefix)
    handle = stack.client.get_schedule_handle(schedule)
    try:
        described = await handle.describe()
        spec = described.schedule.spec
        assert spec.time_zone_name == "Asia/Shanghai"
        (calendar,) = spec.calendars
        assert isinstance(calendar, ScheduleCalendarSpec)
        assert calendar.day_of_month[0].start == 1
        assert calendar.hour[0].start == stack.settings.bulletin_hour
        policy = described.schedule.policy
        assert policy.catchup_window == timedelta(days=stack.settings.bulletin_catchup_days)
        assert policy.overlap == ScheduleOverlapPolicy.BUFFER_ALL

        span = ScheduleBackfill(
            start_at=datetime(2026, 10, 31, tzinfo=UTC),
            end_at=datetime(2026, 12, 2, tzinfo=UTC),
            overlap=ScheduleOverlapPolicy.ALLOW_ALL,
        )
        await handle.backfill(span)

        async def both() -> Any:
            listed = (await stack.call("GET", "/api/v1/bulletins", CITY)).json()["data"]
            return listed if len(listed) == 2 else None

        listed = await eventually(both, timeout=30)
        assert sorted((b["month"], b["file_no"]) for b in listed) == [
            ("2026-10", file_no(stack, "202610")),
            ("2026-11", file_no(stack)),
        ]
        await open_task(stack, file_no(stack, "202610"), "review_bulletin", CITY)
        await open_task(stack, file_no(stack), "review_bulletin", CITY)

        def completed(n: int) -> Any:
            async def check() -> bool:
                runs = [
                    w
                    async for w in stack.client.list_workflows(
                        "WorkflowType = 'MonthlyBulletin' AND ExecutionStatus = 'Completed' "
                        f"AND TemporalScheduledById = '{schedule}'"
                    )
                ]
                return len(runs) >= n

            return check

        await eventually(completed(2), timeout=30)
        await handle.backfill(span)  # the same due times again
        await eventually(completed(4), timeout=30)
        listed = (await stack.call("GET", "/api/v1/bulletins", CITY)).json()["data"]
        assert len(listed) == 2
        tasks = await stack.call(
            "GET", "/api/v1/tasks", CITY, params={"kind": "review_bulletin", "status": "open"}
        )
        assert tasks.json()["count"] == 2
    finally:
        await handle.delete()


async def test_nothing_of_a_bulletin_enters_the_case_lists(stack: Stack) -> None:
    with stack.db() as session:
        build(session)
    await start(stack)
    await open_task(stack, file_no(stack), "review_bulletin", CITY)
    listed = (await stack.call("GET", "/api/v1/cases", CITY, params={"limit": 200})).json()
    assert listed["count"] > 0
    assert all("TB2026" not in c["case_no"] for c in listed["data"])
    asked = await stack.call("GET", "/api/v1/cases", CITY, params={"kind": "bulletin"})
    assert asked.status_code == 200 and asked.json()["count"] == 0


async def test_the_city_supervisor_reviews_and_publishes_in_the_workplace(stack: Stack) -> None:
    from tests.api.test_workplace import browser, text_of

    with stack.db() as session:
        build(session)
    async with browser(stack, CITY) as city:
        listed = await city.get("/bulletins")
        assert 'value="2026-11"' in listed.text  # a past month to start by hand
        started = await city.post("/bulletins", {"month": "2026-11"})
        assert started.status_code == 303
        assert started.headers["location"] == "/bulletins/2026-11"
        task = await open_task(stack, file_no(stack), "review_bulletin", CITY)
        # The inbox's task opens the draft's page, where it is reviewed.
        opened = await city.get(f"/tasks/{task['id']}")
        assert opened.status_code == 303
        assert opened.headers["location"] == "/bulletins/2026-11?version=1"
        page = await city.get("/bulletins/2026-11?version=1")
        shown = text_of(page.text)
        assert "草稿 · 第1版 · 待审核发布" in shown and "4 贵池分局 83.33% 100.00%" in shown
        assert 'value="处理时限超期，经催办仍未办结"' in page.text  # pre-filled
        assert 'id="publish"' in page.text
        inbox = text_of((await city.get("/inbox")).text)
        assert "审核发布通报" in inbox
        history = await city.get(f"/cases/{file_no(stack)}")  # its file: the history
        assert history.status_code == 200, history.text
        assert "登记 ：2026-11 第1版" in text_of(history.text)
        assert "通报草稿生成" in text_of(history.text)

        # A report named in a criticism is refused beside its field, what was typed kept.
        form = {
            "foreword": "本月全市投诉处理总体平稳。\n\n现通报如下。",
            "c0.unit": "guichi",
            "c0.keep": "1",
            "c0.reason": "处理时限超期，经催办仍未办结",
            "c0.case_no": "JB-1",
            "new0.unit": "dongzhi",
            "new0.reason": "回访满意率连续两月下降",
            "action": "publish",
        }
        refused = await city.post("/bulletins/2026-11/draft", form)
        assert refused.status_code == 422
        assert "通报不点名举报案件" in text_of(refused.text)
        assert 'value="回访满意率连续两月下降"' in refused.text
        with stack.db() as session:
            from api.bulletins.models import Bulletin

            assert session.exec(select(Bulletin)).one().published_at is None

        form["c0.case_no"] = "TS-2"
        done = await city.post("/bulletins/2026-11/draft", form)
        assert done.status_code == 303, done.text
        published = text_of((await city.get(done.headers["location"])).text)
        year = datetime.now(ZONE).year
        assert "已发布 · 第1版" in published and f"池市监消〔{year}〕1号" in published
        assert "回访满意率连续两月下降" in published and "现通报如下。" in published
        history = text_of((await city.get(f"/cases/{file_no(stack)}")).text)
        assert f"通报发布 ：文号：池市监消〔{year}〕1号；SHA-256：" in history

    async with browser(stack, HEAD) as head:  # every branch's head reads it once published
        listed = text_of((await head.get("/bulletins")).text)
        assert f"池市监消〔{year}〕1号" in listed
        page = await head.get("/bulletins/2026-11")
        assert page.status_code == 200
        assert 'id="draft"' not in page.text and 'id="correct"' not in page.text
        assert 'id="chart-branches"' in page.text and 'id="chart-trend"' in page.text
