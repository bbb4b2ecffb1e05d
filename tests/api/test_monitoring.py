"""Commodity quality monitoring (issue 13, part 3): the city's yearly plan, sampling
batches entered one by one or imported from an XLSX whole or not at all, a commodity whose
failure rate goes over the plan's threshold cleaned up (专项清查) with a delisting (退市)
for every outlet that sold a failed lot, escalated when late, a report (举报) from a failed
sample, and the published batch's failed commodities and outlets (信息公开)."""

from datetime import datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from api.calendar.service import working_calendar
from api.casefile.models import Event
from api.monitoring.models import CleanUp, Sample
from api.supervision.models import SupervisionRecord
from api.workdays import ZONE
from tests.conftest import Stack, open_task
from tests.factories import eventually

URL = "/api/v1/monitoring"
CITY, ADMIN, HEAD, HANDLER = "supervisor", "admin", "guichi-supervisor", "guichi"
OTHER_HANDLER = "dongzhi"
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
CREDITS = ("91341702MA2N00000X", "91341721MA2N111104", "91341702MA2N222209")


def today() -> Any:
    return datetime.now(ZONE).date()


def plan(year: int | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "year": year or today().year,
        "targets": [
            {"commodity": "appliances", "area": "city-community", "target": 20},
            {"commodity": "appliances", "area": "village", "target": 10},
            {"commodity": "clothing", "area": "urban-fringe", "target": 8},
        ],
        **overrides,
    }


def sample(no: str, passed: bool = True, **overrides: Any) -> dict[str, Any]:
    return {
        "sample_no": no,
        "unit": "guichi",
        "area": "city-community",
        "outlet": "池州百货大楼家电部",
        "business": "池州百货大楼有限公司",
        "credit_code": CREDITS[0],
        "outlet_address": "贵池区长江中路1号",
        "commodity": "appliances",
        "product": "电热水壶",
        "brand": "美味",
        "model": "MK-1701",
        "lot": "20260301",
        "sampled_on": today().isoformat(),
        "tested_by": "安徽省产品质量监督检验研究院",
        "passed": passed,
        "failed_items": [] if passed else ["标志和说明", "泄漏电流"],
        **overrides,
    }


async def ready(stack: Stack, code: str = "B1", **plan_overrides: Any) -> None:
    made = await stack.call("POST", f"{URL}/plans", CITY, json=plan(**plan_overrides))
    assert made.status_code == 201, made.text
    batch = {"code": code, "year": today().year, "name": f"{today().year}年第一批"}
    opened = await stack.call("POST", f"{URL}/batches", CITY, json=batch)
    assert opened.status_code == 201, opened.text


async def enter(stack: Stack, body: dict[str, Any], as_: str = HANDLER, batch: str = "B1") -> Any:
    return await stack.call("POST", f"{URL}/batches/{batch}/samples", as_, json=body)


async def test_the_plan_and_its_batches_are_the_citys_and_a_bad_one_names_its_field(
    stack: Stack,
) -> None:
    year = today().year
    refused = await stack.call("POST", f"{URL}/plans", HEAD, json=plan())
    assert refused.status_code == 403
    unknown = plan(targets=[{"commodity": "spaceships", "area": "village", "target": 1}])
    bad = await stack.call("POST", f"{URL}/plans", CITY, json=unknown)
    assert bad.status_code == 422 and bad.json()["code"] == "monitoring.unknown_commodity"
    assert bad.json()["detail"][0]["loc"] == ["body", "targets.0.commodity"]
    twice = plan(targets=[plan()["targets"][0]] * 2)
    assert (await stack.call("POST", f"{URL}/plans", CITY, json=twice)).status_code == 422
    no_plan = {"code": "B1", "year": year, "name": "第一批"}
    early = await stack.call("POST", f"{URL}/batches", CITY, json=no_plan)
    assert early.status_code == 404 and early.json()["code"] == "monitoring.no_plan"

    made = await stack.call("POST", f"{URL}/plans", ADMIN, json=plan())
    assert made.status_code == 201, made.text
    # The catalogue's defaults (config/monitoring.json).
    assert (made.json()["threshold"], made.json()["minimum_samples"]) == (0.3, 5)
    again = await stack.call("POST", f"{URL}/plans", CITY, json=plan())
    assert again.status_code == 409 and again.json()["code"] == "monitoring.plan_exists"
    edit = {"targets": plan()["targets"], "threshold": 0.2, "version": 1}
    saved = await stack.call("PUT", f"{URL}/plans/{year}", CITY, json=edit)
    assert saved.status_code == 200 and saved.json()["threshold"] == 0.2
    stale = await stack.call("PUT", f"{URL}/plans/{year}", CITY, json=edit)
    assert stale.status_code == 409 and stale.json()["code"] == "monitoring.changed"
    changes = (await stack.call("GET", f"{URL}/plans/{year}/changes", HEAD)).json()
    assert changes[-1]["change"]["edited"]["threshold"] == {"from": 0.3, "to": 0.2}

    assert (await stack.call("POST", f"{URL}/batches", HEAD, json=no_plan)).status_code == 403
    assert (await stack.call("POST", f"{URL}/batches", CITY, json=no_plan)).status_code == 201
    taken = await stack.call("POST", f"{URL}/batches", CITY, json=no_plan)
    assert taken.status_code == 409 and taken.json()["code"] == "monitoring.batch_exists"
    station = await stack.call("GET", f"{URL}/plans", "st-wanda")
    assert station.status_code == 403


async def test_results_over_the_threshold_open_the_clean_up_and_each_outlet_delists(
    stack: Stack,
) -> None:
    await ready(stack)
    # Each wrong field of a sample is named; nothing is entered.
    wrong: list[tuple[dict[str, Any], str]] = [
        (sample("X1", passed=False, failed_items=[]), "failed_items"),
        (sample("X2", failed_items=["标志"]), "failed_items"),
        (sample("X3", credit_code="91341702MA2N000001"), "credit_code"),
        (sample("X4", commodity="fire-equipment"), "commodity"),
        (sample("X5", area="moon"), "area"),
        (sample("X6", sampled_on=(today() + timedelta(days=1)).isoformat()), "sampled_on"),
        (sample("X7", sampled_on=f"{today().year - 1}-06-01"), "sampled_on"),
        (sample("X8", unit="dongzhi"), "unit"),  # a guichi handler, a dongzhi outlet
    ]
    for body, field in wrong:
        refused = await enter(stack, body)
        assert refused.status_code == 422, (field, refused.text)
        assert field in {d["loc"][-1] for d in refused.json()["detail"]}, refused.text
    with stack.db() as session:
        assert session.exec(select(Sample)).all() == []

    for no, passed in (("S1", False), ("S2", True), ("S3", True)):
        assert (await enter(stack, sample(no, passed))).status_code == 201
    in_dongzhi = sample(
        "S4",
        False,
        unit="dongzhi",
        outlet="东至县尧渡镇家电城",
        business="东至县家电城有限公司",
        credit_code=CREDITS[1],
    )
    fourth = await enter(stack, in_dongzhi, OTHER_HANDLER)
    assert fourth.status_code == 201 and fourth.json()["delistings"] == []
    duplicate = await enter(stack, sample("S1"))
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "monitoring.sample_exists"

    # 2 of 4 failed: 50%, but fewer than the 5 samples a rate needs.
    year = today().year
    rates = (await stack.call("GET", f"{URL}/plans/{year}", CITY)).json()["rates"]
    appliances = next(r for r in rates if r["commodity"] == "appliances")
    assert (appliances["tested"], appliances["failed"], appliances["over"]) == (4, 2, False)
    assert (await stack.call("GET", f"{URL}/cleanups", CITY)).json() == []

    # The fifth (passed): 2 of 5 is 40%, over 30%: the clean-up opens, and each outlet
    # that sold a failed lot is given its delisting.
    fifth = await enter(stack, sample("S5"))
    assert fifth.status_code == 201, fifth.text
    prefix = stack.settings.case_no_prefix
    with stack.db() as session:
        ids = {s.sample_no: s.id for s in session.exec(select(Sample))}
    first_two = [f"{prefix}QC{year}{ids['S1']:06d}", f"{prefix}QC{year}{ids['S4']:06d}"]
    assert fifth.json()["delistings"] == first_two
    (cleanup,) = (await stack.call("GET", f"{URL}/cleanups", CITY)).json()
    assert (cleanup["commodity"], cleanup["tested"], cleanup["failed"]) == ("appliances", 5, 2)
    assert [(d["unit"], d["sample_no"]) for d in cleanup["delistings"]] == [
        ("guichi", "S1"),
        ("dongzhi", "S4"),
    ]
    assert cleanup["done"] is False
    # A branch sees its own delistings.
    (own,) = (await stack.call("GET", f"{URL}/cleanups", HANDLER)).json()
    assert [d["sample_no"] for d in own["delistings"]] == ["S1"]
    # A failed sample of a commodity being cleaned up is delisted at once.
    sixth = await enter(stack, sample("S6", False, lot="20260415"))
    assert sixth.json()["delistings"] == [f"{prefix}QC{year}{ids['S5'] + 1:06d}"]
    changes = (await stack.call("GET", f"{URL}/plans/{year}/changes", CITY)).json()
    assert [
        c["change"]["cleanup_opened"]["failed"] for c in changes if "cleanup_opened" in c["change"]
    ] == [2]

    # The branch's handlers delist within the configured working days.
    task = await open_task(stack, first_two[0], "delist", HANDLER)
    assert (task["unit"], task["role"], task["context"]["sample"]) == ("guichi", "handler", "S1")
    with stack.db() as session:
        calendar = working_calendar(session=session)
    due = calendar.add_working_days(today(), stack.settings.monitoring_delisting_working_days)
    assert datetime.fromisoformat(task["due_at"]).astimezone(ZONE).date() == due.end + timedelta(
        days=1
    )
    url = f"/api/v1/tasks/{task['id']}/complete"
    tomorrow = (today() + timedelta(days=1)).isoformat()
    future = await stack.call("POST", url, HANDLER, json={"quantity": 3, "done_on": tomorrow})
    assert future.status_code == 422 and future.json()["detail"][0]["loc"] == ["body", "done_on"]
    minus = await stack.call(
        "POST", url, HANDLER, json={"quantity": -1, "done_on": today().isoformat()}
    )
    assert minus.status_code == 422
    other = await stack.call(
        "POST", url, OTHER_HANDLER, json={"quantity": 3, "done_on": today().isoformat()}
    )
    assert other.status_code in (403, 404)
    done = await stack.call(
        "POST", url, HANDLER, json={"quantity": 12, "done_on": today().isoformat()}
    )
    assert done.status_code == 200, done.text
    (after,) = (await stack.call("GET", f"{URL}/cleanups", CITY)).json()
    first = after["delistings"][0]
    assert (first["status"], first["quantity"], first["done_on"]) == (
        "closed",
        12,
        today().isoformat(),
    )
    assert after["done"] is False  # 东至 and the sixth still to delist
    with stack.db() as session:
        delisted = session.exec(
            select(Event.data).where(Event.case_no == first_two[0], Event.type == "delisted")
        ).one()
    assert delisted["quantity"] == 12


def workbook(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    from api.monitoring.sheets import COLUMNS

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header or list(COLUMNS))
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def row(no: str, passed: bool = True, **overrides: Any) -> list[Any]:
    """A sheet's row, as a clerk fills it: units, areas and commodities by name."""
    fields = {
        "sample_no": no,
        "unit": "贵池分局",
        "area": "农村",
        "outlet": "牛头山镇农资超市",
        "business": "池州市贵池区牛头山农资有限公司",
        "credit_code": CREDITS[2],
        "outlet_address": "贵池区牛头山镇",
        "commodity": "服装",
        "product": "男式衬衫",
        "brand": "江南",
        "model": "175/92A",
        "lot": "JN2026",
        "sampled_on": datetime(today().year, 1, 2),
        "tested_by": "池州市产品质量监督检验所",
        "passed": "合格" if passed else "不合格",
        "failed_items": "" if passed else "纤维含量；使用说明",
    } | overrides
    from api.monitoring.sheets import COLUMNS

    return [fields[f] for f in COLUMNS.values()]


async def upload(stack: Stack, content: bytes, as_: str = HANDLER, name: str = "结果.xlsx") -> Any:
    return await stack.call(
        "POST",
        f"{URL}/batches/B1/imports",
        as_,
        files={"file": (name, content, "application/vnd.ms-excel")},
    )


async def test_an_xlsx_of_results_is_imported_whole_or_not_at_all(stack: Stack) -> None:
    await ready(stack)
    template = await stack.call("GET", f"{URL}/import-template", HANDLER)
    assert template.status_code == 200
    headers = [c.value for c in load_workbook(BytesIO(template.content)).active[1]]  # type: ignore[index]
    assert headers[:3] == ["样品编号", "所属单位", "区域类型"]

    bad = workbook(
        [
            row("M1"),
            row("M2", credit_code="91341702MA2N222208"),  # its check digit is wrong
            row("M3", unit="东至县局"),  # not the handler's branch
            row("M1"),  # the same sample twice
            row("M5", passed=False, failed_items=""),
            row("M6", sampled_on="某天"),
        ]
    )
    refused = await upload(stack, bad)
    assert refused.status_code == 422 and refused.json()["code"] == "monitoring.rows_invalid"
    found = {(d["line"], d["field"]) for d in refused.json()["detail"]}
    assert found == {
        (3, "credit_code"),
        (4, "unit"),
        (5, "sample_no"),
        (6, "failed_items"),
        (7, "sampled_on"),
    }
    with stack.db() as session:
        assert session.exec(select(Sample)).all() == []  # not half-imported

    missing = workbook([["M1"]], header=["样品编号", "颜色"])
    lacking = await upload(stack, missing)
    assert lacking.status_code == 422
    assert {d["line"] for d in lacking.json()["detail"]} == {1}
    assert "unknown column: 颜色" in {d["msg"] for d in lacking.json()["detail"]}
    not_xlsx = await upload(stack, b"sample_no,unit\nM1,guichi\n", name="结果.csv")
    assert not_xlsx.status_code == 422 and not_xlsx.json()["code"] == "monitoring.not_xlsx"

    good = workbook([row(f"M{i}", passed=i % 2 == 0) for i in range(1, 7)] + [[None] * 16])
    imported = await upload(stack, good)
    assert imported.status_code == 201, imported.text
    # 3 of 6 failed: the clean-up of 服装 opens, a delisting for each failed row.
    assert (imported.json()["rows"], len(imported.json()["delistings"])) == (6, 3)
    batch = (await stack.call("GET", f"{URL}/batches/B1", CITY)).json()
    assert (batch["samples"], batch["failed"]) == (6, 3)
    shirt = next(s for s in batch["sample_list"] if s["sample_no"] == "M1")
    assert (shirt["unit"], shirt["area"], shirt["commodity"]) == ("guichi", "village", "clothing")
    assert shirt["failed_items"] == ["纤维含量", "使用说明"]
    assert shirt["sampled_on"] == f"{today().year}-01-02"
    again = await upload(stack, good)
    assert again.status_code == 422
    assert {d["msg"] for d in again.json()["detail"]} == {
        f"sample M{i} is entered already" for i in range(1, 7)
    }


async def test_a_failed_sample_opens_one_report_against_its_outlet(stack: Stack) -> None:
    await ready(stack)
    assert (await enter(stack, sample("R1", False))).status_code == 201
    assert (await enter(stack, sample("R2"))).status_code == 201
    url = f"{URL}/samples/R1/report"
    assert (await stack.call("POST", url, "auditor")).status_code == 403
    assert (await stack.call("POST", url, OTHER_HANDLER)).status_code == 404
    passed = await stack.call("POST", f"{URL}/samples/R2/report", HANDLER)
    assert passed.status_code == 409 and passed.json()["code"] == "monitoring.sample_passed"

    opened = await stack.call("POST", url, HANDLER)
    assert opened.status_code == 201, opened.text
    report_no = opened.json()["case_no"]
    again = await stack.call("POST", url, CITY)
    assert again.status_code == 200 and again.json()["case_no"] == report_no
    case = (await stack.call("GET", f"/api/v1/cases/{report_no}", CITY)).json()
    assert (case["kind"], case["channel"], case["category"]) == ("report", "ex_officio", "家用电器")
    assert case["respondent"]["name"] == "池州百货大楼有限公司"
    assert "R1" in case["description"] and "泄漏电流" in case["description"]
    linked = (await stack.call("GET", f"{URL}/samples/R1", HANDLER)).json()
    assert linked["report_no"] == report_no
    # The report waits at the centre's triage, like any.
    await open_task(stack, report_no, "triage", "operator")


async def test_a_published_batch_discloses_its_failed_goods_and_outlets_to_anyone(
    stack: Stack,
) -> None:
    await ready(stack)
    public = "/api/v1/disclosure/monitoring"
    empty = await stack.call("POST", f"{URL}/batches/B1/publish", CITY)
    assert empty.status_code == 409 and empty.json()["code"] == "monitoring.batch_empty"
    assert (await enter(stack, sample("P1", False))).status_code == 201
    assert (await enter(stack, sample("P2", True, outlet="不应公开的合格门店"))).status_code == 201
    assert (await stack.api.get(f"{public}/B1")).status_code == 404  # not yet published
    assert (await stack.call("POST", f"{URL}/batches/B1/publish", HEAD)).status_code == 403

    published = await stack.call("POST", f"{URL}/batches/B1/publish", CITY)
    assert published.status_code == 200 and published.json()["published_at"] is not None
    assert (await stack.call("POST", f"{URL}/batches/B1/publish", CITY)).status_code == 200
    anyone = await stack.api.get(f"{public}/B1")  # no sign-in
    assert anyone.status_code == 200, anyone.text
    body = anyone.json()
    assert (body["samples"], [s["outlet"] for s in body["failed"]]) == (2, ["池州百货大楼家电部"])
    assert body["failed"][0]["failed_items"] == ["标志和说明", "泄漏电流"]
    assert [b["code"] for b in (await stack.api.get(public)).json()] == ["B1"]
    sheet = await stack.api.get(f"{public}/B1", params={"format": "xlsx"})
    assert sheet.status_code == 200
    cells = [
        c
        for r in load_workbook(BytesIO(sheet.content)).active.iter_rows(values_only=True)
        for c in r
    ]  # type: ignore[union-attr]
    assert "池州百货大楼家电部" in cells and "不应公开的合格门店" not in cells
    late = await enter(stack, sample("P3"))
    assert late.status_code == 409 and late.json()["code"] == "monitoring.batch_published"


async def test_a_late_delisting_is_escalated(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    """Undone past its working days, the delisting is overdue: the city supervises it,
    like any late case; done late, its deadline is met late."""
    stack = skipping_stack
    await ready(stack, minimum_samples=1)
    entered = await enter(stack, sample("L1", False))
    (file_no,) = entered.json()["delistings"]
    task = await open_task(stack, file_no, "delist", HANDLER)
    await skipping_env.sleep(timedelta(days=stack.settings.monitoring_delisting_working_days + 10))

    async def escalated() -> Any:
        with stack.db() as session:
            kinds = session.exec(
                select(SupervisionRecord.kind).where(SupervisionRecord.case_no == file_no)
            ).all()
        return {"warning", "overdue"} <= set(kinds)

    await eventually(escalated, timeout=30)
    await open_task(stack, file_no, "supervise", CITY)
    done = await stack.call(
        "POST",
        f"/api/v1/tasks/{task['id']}/complete",
        HANDLER,
        json={"quantity": 4, "done_on": datetime.now(ZONE).date().isoformat()},
    )
    assert done.status_code == 200, done.text
    with stack.db() as session:
        met = session.exec(
            select(Event.data).where(Event.case_no == file_no, Event.type == "deadline_met")
        ).one()
    assert met["late"] is True


@SQLITE_ONLY
async def test_the_monitoring_in_the_workplace(stack: Stack) -> None:
    """The city makes the plan on its form and opens a batch; a branch handler enters a
    sample (errors beside their fields, what was typed kept) and imports a sheet (its bad
    rows listed by line, nothing imported); the clean-up and its delistings show; the
    city publishes the batch, and anyone reads it without signing in."""
    from tests.api.test_workplace import browser, field_error, text_of

    year = today().year
    async with browser(stack, CITY) as city, browser(stack, HANDLER) as handler:
        page = await city.get(f"/monitoring?year={year}")
        assert f"{year}年还没有监测方案" in text_of(page.text)
        plan_form = {"t.appliances.city-community": "20", "threshold": "abc"}
        refused = await city.post(f"/monitoring/plans/{year}", plan_form)
        assert refused.status_code == 422
        assert field_error(refused.text, "m-threshold") == "填写百分比，如 30"
        assert 'value="20"' in refused.text  # what was typed stays
        saved = await city.post(
            f"/monitoring/plans/{year}", plan_form | {"threshold": "30", "minimum_samples": "5"}
        )
        assert saved.status_code == 303, saved.text
        made = await city.post(
            "/monitoring/batches", {"year": str(year), "code": "B1", "name": "第一批"}
        )
        assert made.status_code == 303, made.text

        batch = await handler.get("/monitoring/batches/B1")
        assert 'id="sample-form"' in batch.text and 'id="publish-form"' not in batch.text
        typed = {k: str(v) for k, v in sample("W1").items() if k not in ("passed", "failed_items")}
        typed |= {"passed": "0", "failed_items": "", "credit_code": "91341702MA2N000001"}
        wrong = await handler.post("/monitoring/batches/B1/samples", typed)
        assert wrong.status_code == 422
        assert field_error(wrong.text, "s-failed_items").startswith("不合格的样品须填写")
        assert field_error(wrong.text, "s-credit_code").startswith("统一社会信用代码有误")
        assert 'value="池州百货大楼家电部"' in wrong.text
        for no in ("W1", "W2", "W3", "W4"):
            entered = await handler.post(
                "/monitoring/batches/B1/samples",
                typed | {"sample_no": no, "credit_code": CREDITS[0], "failed_items": "泄漏电流"},
            )
            assert entered.status_code == 303, entered.text

        sheet = workbook([row("W5", commodity="家用电器"), row("W6", unit="东至县局")])
        bad = await handler.http.post(
            "/monitoring/batches/B1/imports",
            data={"csrf_token": handler.csrf},
            files={"file": ("结果.xlsx", sheet, "application/octet-stream")},
            headers={"Accept": "text/html"},
        )
        assert bad.status_code == 422
        listed = text_of(bad.text)
        assert "第 3 行 所属单位 不是本单位辖区，或没有这个单位" in listed
        assert "整个文件未导入" in listed
        good = await handler.http.post(
            "/monitoring/batches/B1/imports",
            data={"csrf_token": handler.csrf},
            files={"file": ("结果.xlsx", workbook([row("W5", commodity="家用电器")]), "x")},
            headers={"Accept": "text/html"},
        )
        assert good.status_code == 303, good.text

        overview = text_of((await handler.get(f"/monitoring?year={year}")).text)
        assert "家用电器 5 4 80.0% 超过 已启动" in overview
        with stack.db() as session:
            cleanup_id = session.exec(select(CleanUp.id)).one()
        cleanup = text_of((await handler.get(f"/monitoring/cleanups/{cleanup_id}")).text)
        assert (
            f"{year}年家用电器专项清查" in cleanup and "W1" in cleanup and "已超期" not in cleanup
        )
        sample_page = await handler.get("/monitoring/samples/W1")
        assert "不合格：泄漏电流" in text_of(sample_page.text)
        reported = await handler.post("/monitoring/samples/W1/report", {})
        assert reported.status_code == 303, reported.text
        shown_sample = text_of((await handler.get(reported.headers["location"])).text)
        assert "已对经营者登记举报案件" in shown_sample and "（由指挥中心受理）" in shown_sample
        with stack.db() as session:
            report_no = session.exec(select(Sample.report_no).where(Sample.sample_no == "W1")).one()
        case_page = text_of((await city.get(f"/cases/{report_no}")).text)
        assert "质量监测样品 W1" in case_page

        published = await city.post("/monitoring/batches/B1/publish", {})
        assert published.status_code == 303
    async with browser(stack) as anyone:
        public = await anyone.get("/disclosure/monitoring/B1")
        assert public.status_code == 200
        shown = text_of(public.text)
        assert "第一批：不合格商品及经营者名单" in shown and "池州百货大楼家电部" in shown
        assert "W1" not in shown  # the testing body's numbers are not published
        assert (await anyone.get("/monitoring")).status_code in (303, 401)
