"""The bulletin's figures for November 2026, computed by hand on a small fixed set of
cases that covers every edge ``docs/bulletin.md`` names, and checked against
``api.bulletins.figures.compute``.

The rows are written straight into the tables the steps keep (cases, deadlines, the
escalation records, the mediation rungs), as the steps leave them, so each figure's
definition is what is under test: a case closed late, withdrawn, returned to the centre
and sent on, redone after an unsatisfied callback, unreachable, with an extension
approved, with its clock paused; reports filed and not filed, a reporter told late; the
rungs of the ladder with what they recovered; and October for the change against the
month before.
"""

import asyncio
import os
import shutil
import subprocess
from datetime import date, datetime, time
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlmodel import Session

from api.bulletins.figures import Month, compute, recount_month
from api.casefile.lifecycle import CaseKind, Channel, Status
from api.casefile.models import Case
from api.config import Settings
from api.deadlines.models import Deadline, DeadlinePolicy, DeadlineState
from api.mediation.models import Mediation, MediationRung
from api.migrations import migrate
from api.supervision import rollup
from api.supervision.models import SupervisionRecord
from api.units import service as units
from api.workdays import ZONE, deadline_instant
from tests.conftest import Database, Stack

NOVEMBER = Month(2026, 11)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime.combine(date(2026, month, day), time(hour), ZONE)


class Fixture:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.mediations: dict[str, Mediation] = {}

    def case(
        self,
        no: str,
        unit: str,
        received: datetime,
        status: Status = Status.HANDLING,
        *,
        kind: CaseKind = CaseKind.COMPLAINT,
        closed: datetime | None = None,
        satisfaction: str | None = None,
        outcome: str | None = None,
    ) -> None:
        self.session.add(
            Case(
                case_no=no,
                kind=kind,
                channel=Channel.HOTLINE,
                status=status,
                unit=unit,
                received_at=received,
                registered_at=received,
                registered_by="operator",
                registered_unit="city",
                rule_set="samr-order-121",
                closed_at=closed,
                satisfaction=satisfaction,
                outcome=outcome,
            )
        )
        self.session.flush()

    def deadline(
        self,
        no: str,
        name: str,
        unit: str,
        started: date,
        last_day: date,
        *,
        met: datetime | None = None,
        late: bool = False,
        extended: int = 0,
        paused: int = 0,
    ) -> None:
        state = DeadlineState.PENDING
        if met is not None:
            state = DeadlineState.OVERDUE if late else DeadlineState.MET
        self.session.add(
            Deadline(
                case_no=no,
                name=name,
                unit=unit,
                policy=DeadlinePolicy.SUPERVISE,
                extended_working_days=extended,
                paused_working_days=paused,
                started_on=started,
                due_date=last_day,
                due_at=deadline_instant(last_day),
                state=DeadlineState.PAUSED if paused and met is None else state,
                rule_set="samr-order-121",
                met_at=met,
                overdue_at=deadline_instant(last_day) if late else None,
            )
        )

    def record(self, no: str, unit: str, kind: str, when: datetime) -> None:
        self.session.add(
            SupervisionRecord(
                case_no=no, unit=unit, kind=kind, at=when, by="system", deadline="handle"
            )
        )

    def rung(
        self,
        no: str,
        unit: str,
        rung: str,
        entered: datetime,
        ended: datetime | None,
        outcome: str | None,
        **details: Any,
    ) -> None:
        mediation = self.mediations.get(no)
        if mediation is None:
            mediation = Mediation(
                case_no=no, number=1, start_rung=rung, stage="ended", unit=unit, started_at=entered
            )
            self.session.add(mediation)
            self.session.flush()
            self.mediations[no] = mediation
        assert mediation.id is not None
        self.session.add(
            MediationRung(
                mediation_id=mediation.id,
                case_no=no,
                rung=rung,
                via="accepted",
                unit=unit,
                entered_at=entered,
                outcome=outcome,
                ended_at=ended,
                details=details,
            )
        )


def build(session: Session) -> None:
    f = Fixture(session)
    nov = lambda day: date(2026, 11, day)  # noqa: E731
    # 贵池分局 ------------------------------------------------------------------------------
    # TS-1: replied on time, called back satisfied, closed; mediated to an agreement.
    f.case("TS-1", "guichi", at(11, 3), Status.CLOSED, closed=at(11, 12), satisfaction="satisfied")
    f.deadline("TS-1", "handle", "guichi", nov(3), nov(30), met=at(11, 10))
    f.rung("TS-1", "guichi", "administrative", at(11, 3), at(11, 10), "agreement",
           amount_recovered="1200.00")  # fmt: skip
    # TS-2: received in October, closed late in November, its callback unreachable.
    f.case(
        "TS-2", "guichi", at(10, 1), Status.CLOSED, closed=at(11, 25), satisfaction="unreachable"
    )
    f.deadline("TS-2", "handle", "guichi", date(2026, 10, 1), nov(5), met=at(11, 20), late=True)
    f.record("TS-2", "guichi", "overdue", at(11, 6, 0))
    f.record("TS-2", "guichi", "notice", at(11, 9))
    f.record("TS-2", "guichi", "criticism", at(11, 16))
    f.record("TS-2", "guichi", "urge", at(11, 17))
    f.record("TS-2", "guichi", "criticism", at(10, 20))  # October's
    # TS-3: withdrawn while handled (the withdrawal ends its handle deadline, on time).
    f.case("TS-3", "guichi", at(11, 4), Status.WITHDRAWN, closed=at(11, 6), outcome="withdrawn")
    f.deadline("TS-3", "handle", "guichi", nov(4), nov(30), met=at(11, 6))
    # TS-4: sent to 东至县局, returned (退回), sent on to 贵池分局, still handled there.
    f.case("TS-4", "guichi", at(11, 5))
    f.deadline("TS-4", "handle", "dongzhi", nov(5), nov(30), met=at(11, 6))
    f.deadline("TS-4", "handle", "guichi", nov(7), date(2026, 12, 31))
    # TS-5: replied, called back unsatisfied, redone, replied again, satisfied, closed.
    f.case("TS-5", "guichi", at(11, 2), Status.CLOSED, closed=at(11, 24), satisfaction="satisfied")
    f.deadline("TS-5", "handle", "guichi", nov(2), nov(30), met=at(11, 9))
    f.deadline("TS-5", "handle", "guichi", nov(12), date(2026, 12, 20), met=at(11, 19))
    # TS-6: an extension approved; replied within it.
    f.case("TS-6", "guichi", at(11, 2), Status.CALLBACK)
    f.deadline("TS-6", "handle", "guichi", nov(2), date(2026, 12, 15), met=at(11, 28), extended=10)
    # TS-7: the clock paused for testing (鉴定检测), still running at the month's end.
    f.case("TS-7", "guichi", at(11, 9))
    f.deadline("TS-7", "handle", "guichi", nov(9), date(2026, 12, 18), paused=5)
    # TS-8, TS-9: received in October; people's mediation agreed, a court confirmed.
    f.case("TS-8", "guichi", at(10, 12))
    f.rung("TS-8", "guichi", "administrative", at(10, 12), at(11, 14), "terminated")
    f.rung("TS-8", "guichi", "people", at(11, 15), at(11, 20), "agreement",
           amount_recovered="800.50")  # fmt: skip
    f.case("TS-9", "guichi", at(10, 13))
    f.rung("TS-9", "guichi", "judicial", at(11, 21), at(11, 27), "confirmed")
    # TS-10: October's: received, replied on time, closed basically satisfied.
    f.case("TS-10", "guichi", at(10, 8), Status.CLOSED, closed=at(10, 25),
           satisfaction="basically_satisfied")  # fmt: skip
    f.deadline("TS-10", "handle", "guichi", date(2026, 10, 8), date(2026, 10, 31),
               met=at(10, 20))  # fmt: skip
    # JB-1 filed, its reporter told on time; JB-2 not filed, told late; JB-3 October's.
    f.case("JB-1", "guichi", at(11, 1), Status.INVESTIGATION, kind=CaseKind.REPORT)
    f.deadline("JB-1", "verify", "guichi", nov(1), nov(20), met=at(11, 10))
    f.deadline("JB-1", "investigate", "guichi", nov(10), date(2027, 2, 8))
    f.deadline("JB-1", "reporter_notice", "guichi", nov(10), nov(17), met=at(11, 12))
    f.case("JB-2", "guichi", at(11, 1), Status.CLOSED, kind=CaseKind.REPORT,
           closed=at(11, 20), outcome="not_filed")  # fmt: skip
    f.deadline("JB-2", "verify", "guichi", nov(1), nov(20), met=at(11, 11))
    f.deadline("JB-2", "reporter_notice", "guichi", nov(11), nov(18), met=at(11, 20), late=True)
    f.case("JB-3", "guichi", at(10, 1), Status.CLOSED, kind=CaseKind.REPORT,
           closed=at(10, 30), outcome="not_filed")  # fmt: skip
    f.deadline("JB-3", "verify", "guichi", date(2026, 10, 1), date(2026, 10, 30), met=at(10, 30))
    # 青阳县局, 石台县局, 开发区分局: five handled on time each; satisfaction ½, 1 and 1.
    for unit, satisfactions in (
        ("qingyang", ("satisfied", "unsatisfied")),
        ("shitai", ("satisfied",)),
        ("kaifaqu", ("basically_satisfied",)),
    ):
        for i in range(5):
            no = f"TS-{unit}-{i}"
            closed = i < len(satisfactions)
            f.case(no, unit, at(10, 10), Status.CLOSED if closed else Status.CALLBACK,
                   closed=at(11, 20) if closed else None,
                   satisfaction=satisfactions[i] if closed else None)  # fmt: skip
            f.deadline(no, "handle", unit, date(2026, 10, 10), nov(30), met=at(11, 10))
    session.commit()
    # The rows are as the steps leave them, and so is the rollup the steps keep (the random
    # walk of tests/api/test_rollup.py holds the steps' rollup to the one built here).
    rollup.rebuild(session)


@pytest.fixture(params=["rollup", "recount"])
def figures(database: Database, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The figures as the bulletin reads them (the rollup), and as the records count them:
    each hand-computed figure must be both."""
    migrate(database.engine)
    with Session(database.engine) as session:
        units.load_org(session=session, path=Settings().org_file)
        build(session)
        counts = recount_month if request.param == "recount" else None
        return compute(session, NOVEMBER, min_cases=5, counts=counts)


def branch(figures: dict[str, Any], unit: str) -> dict[str, Any]:
    return next(b for b in figures["branches"] if b["unit"] == unit)


def test_a_branchs_complaint_figures_by_their_definitions(figures: dict[str, Any]) -> None:
    guichi = branch(figures, "guichi")
    # Received in November, their handling unit 贵池分局: TS-1, 3, 4, 5, 6, 7 (TS-4 counts
    # where it went in the end). All six were accepted for it; TS-1, 3, 5, 6 replied.
    assert (guichi["received"], guichi["accepted"], guichi["replied"]) == (6, 6, 4)
    assert guichi["reply_rate"] == 0.6667
    # Handle deadlines ended in November: TS-1, TS-2 (late), TS-3 (withdrawn), TS-5 twice
    # (the redo is a deadline of its own), TS-6 (within its extension). TS-7 is paused.
    assert (guichi["handled"], guichi["handled_on_time"]) == (6, 5)
    assert guichi["on_time_rate"] == 0.8333
    # Closed in November: TS-1, TS-2 (unreachable), TS-5; TS-3 was withdrawn, not closed.
    assert (guichi["closed"], guichi["reached"], guichi["satisfied"]) == (3, 2, 2)
    assert guichi["valid_callback_rate"] == 0.6667
    assert guichi["satisfaction_rate"] == 1.0
    # Missed deadlines whose last day fell in November: TS-2's handle, JB-2's notice.
    assert guichi["overdue"] == 2
    # 督办 actions in November (overdue, notice, criticism, urge); October's criticism not.
    assert (guichi["supervised"], guichi["criticised"]) == (4, 1)
    # 东至县局 ended TS-4's deadline by returning it: a handled deadline, on time.
    dongzhi = branch(figures, "dongzhi")
    assert (dongzhi["received"], dongzhi["handled"], dongzhi["handled_on_time"]) == (0, 1, 1)


def test_the_ladders_and_the_reports_figures(figures: dict[str, Any]) -> None:
    guichi = branch(figures, "guichi")
    # Rungs entered in November: TS-1's administrative; TS-8's people's; TS-9's judicial
    # (TS-8's administrative rung began in October).
    assert (
        guichi["rung_administrative"],
        guichi["rung_people"],
        guichi["rung_judicial"],
        guichi["rung_reconciliation"],
    ) == (1, 1, 1, 0)
    assert guichi["agreements_administrative"] == 1
    assert guichi["agreements_people"] == 1
    assert guichi["judicial_confirmations"] == 1
    assert guichi["amount_recovered"] == "2000.50"
    assert (guichi["reports_filed"], guichi["reports_not_filed"]) == (1, 1)
    assert (guichi["reporters_told"], guichi["reporters_told_on_time"]) == (2, 1)
    assert guichi["reporters_told_on_time_rate"] == 0.5


def test_the_ranking_and_the_change_against_other_months(figures: dict[str, Any]) -> None:
    ranked = [(b["unit"], b["rank"]) for b in figures["branches"]]
    # All on time: 石台 and 开发区 (satisfaction 1) share first place, 青阳 (½) third;
    # 贵池 (on time 5 of 6) fourth. 东至 (1 handled) and 九华山 (none) are not ranked.
    assert ranked[:4] == [("kaifaqu", 1), ("shitai", 1), ("qingyang", 3), ("guichi", 4)]
    assert {u: r for u, r in ranked[4:]} == {"dongzhi": None, "jiuhuashan": None}

    guichi = branch(figures, "guichi")
    # October: TS-2, 8, 9, 10 received; TS-10's deadline ended on time; TS-10 closed.
    before = guichi["vs_month_before"]
    assert (before["received"], before["handled"], before["closed"]) == (6 - 4, 6 - 1, 3 - 1)
    assert before["on_time_rate"] == round((5 / 6 - 1.0) * 100, 2)
    assert before["amount_recovered"] == "2000.50"
    assert guichi["vs_year_before"]["received"] == 6  # nothing in November 2025

    city = figures["city"]
    assert city["handled"] == 6 + 1 + 15
    assert city["on_time_rate"] == round(21 / 22, 4)
    assert city["amount_recovered"] == "2000.50"


async def test_the_figures_route_names_a_bad_month_and_is_the_city_supervisors(
    stack: Stack,
) -> None:
    url = "/api/v1/bulletins/{}/figures"
    found = await stack.call("GET", url.format("2026-11"), "supervisor")
    assert found.status_code == 200, found.text
    body = found.json()
    assert (
        body["month"] == "2026-11" and body["from"] == "2026-11-01" and body["to"] == "2026-11-30"
    )
    assert len(body["branches"]) == 6 and all(b["rank"] is None for b in body["branches"])
    for bad in ("2026-13", "26-11", "november", "2999-01", "9999-12", "2026-1١"):
        refused = await stack.call("GET", url.format(bad), "supervisor")
        assert refused.status_code == 422, bad
        assert refused.json()["detail"][0]["loc"] == ["path", "month"]
    # Figures not yet published are a draft's: a branch's head, an auditor or a handler
    # reads the bulletin once it is published (tests/api/test_bulletins.py).
    for who in ("guichi-supervisor", "auditor", "admin", "guichi"):
        assert (await stack.call("GET", url.format("2026-11"), who)).status_code == 403, who


SOFFICE = shutil.which("soffice")


async def test_the_spreadsheet_holds_the_same_figures_and_opens_in_libreoffice(
    stack: Stack, tmp_path: Path
) -> None:
    with stack.db() as session:
        build(session)
    response = await stack.call(
        "GET", "/api/v1/bulletins/2026-11/figures", "supervisor", params={"format": "xlsx"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert (
        "filename*=UTF-8''%E9%80%9A%E6%8A%A5-2026-11.xlsx"
        in response.headers["content-disposition"]
    )
    sent = tmp_path / "bulletin.xlsx"
    sent.write_bytes(response.content)
    check_workbook(sent)
    assert "张三" not in response.content.decode("latin-1")  # numbers only, no names

    if SOFFICE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is missing: run `make system-deps`")
        pytest.skip("LibreOffice is missing: run `make system-deps`")
    out = tmp_path / "out"
    converted = await asyncio.to_thread(
        subprocess.run,
        [SOFFICE, f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless",
         "--convert-to", "xlsx", "--outdir", str(out), str(sent)],
        capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    assert converted.returncode == 0, converted.stderr
    # LibreOffice read it and wrote it back whole (headless, it keeps no view: the frozen
    # row is a view setting).
    check_workbook(out / "bulletin.xlsx", ours=False)


def check_workbook(path: Path, ours: bool = True) -> None:
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "排名" and book.sheetnames[-1] == "指标说明"
    assert "贵池分局" in book.sheetnames and len(book.sheetnames) == 8
    ranking = book["排名"]
    if ours:
        assert ranking.freeze_panes == "A2"
    header = [c.value for c in ranking[1]]
    assert header[:4] == ["名次", "单位", "按期办结率", "满意率"]
    rows = {r[1]: r for r in ranking.iter_rows(min_row=2, values_only=True)}
    assert rows["贵池分局"][0] == 4 and rows["东至县局"][0] == "样本不足"
    assert rows["贵池分局"][2] == pytest.approx(0.8333)
    assert ranking.cell(row=2, column=3).number_format == "0.00%"
    column = {name: i for i, name in enumerate(header)}
    assert rows["贵池分局"][column["挽回经济损失（元）"]] == pytest.approx(2000.5)
    assert rows["全市合计"][column["办理"]] == 22
    guichi = book["贵池分局"]
    numbers = [r[0] for r in guichi.iter_rows(min_row=2, values_only=True)]
    assert set(numbers) == {"TS-1", "TS-2", "TS-3", "TS-4", "TS-5", "TS-6", "TS-7"}
    assert [r[0] for r in book["东至县局"].iter_rows(min_row=2, values_only=True)] == ["TS-4"]
    late = next(r for r in guichi.iter_rows(min_row=2, values_only=True) if r[0] == "TS-2")
    assert late[4] == "超期" and late[6] == "未联系上"
    defined = {r[0] for r in book["指标说明"].iter_rows(min_row=2, values_only=True)}
    assert {"按期办结率", "满意率", "回复率", "有效回访率"} <= defined


async def test_the_bulletin_page_ranks_charts_and_explains(stack: Stack) -> None:
    from tests.api.test_workplace import browser, text_of

    with stack.db() as session:
        build(session)
    async with browser(stack, "supervisor") as city:  # figures now, before a bulletin
        listed = await city.get("/bulletins")
        assert listed.status_code == 200 and 'href="/bulletins/2026-11"' in listed.text
        page = await city.get("/bulletins/2026-11")
        assert page.status_code == 200
        shown = text_of(page.text)
        assert "2026年11月消费者投诉举报处理情况" in shown and "实时统计，尚未生成通报" in shown
        assert "1 开发区分局 100.00% 100.00%" in shown and "4 贵池分局 83.33% 100.00%" in shown
        assert "样本不足 东至县局" in shown
        assert "-16.67 个百分点" in shown  # 贵池's on-time rate against October
        assert 'id="chart-branches"' in page.text and 'id="chart-trend"' in page.text
        assert "按期办结率" in shown and "本月结束的处理时限中" in shown  # the definitions
        assert 'href="/bulletins/2026-11?format=xlsx"' in page.text
        sheet = await city.get("/bulletins/2026-11", params={"format": "xlsx"})
        assert sheet.status_code == 200 and sheet.content.startswith(b"PK")
        printed = await city.get("/bulletins/2026-11", params={"format": "pdf"})
        assert printed.status_code == 200 and printed.content.startswith(b"%PDF")
        assert (await city.get("/bulletins/2026-13")).status_code == 404
    async with browser(stack, "dongzhi-supervisor") as head:  # nothing published yet
        assert (await head.get("/bulletins/2026-11")).status_code == 404
        assert 'href="/bulletins/2026-11"' not in (await head.get("/bulletins")).text
    async with browser(stack, "guichi") as handler:
        assert (await handler.get("/bulletins/2026-11")).status_code == 403


async def test_the_draft_document_prints_with_its_ranking_and_criticisms(stack: Stack) -> None:
    from pypdf import PdfReader

    with stack.db() as session:
        build(session)
    printed = await stack.call(
        "GET", "/api/v1/bulletins/2026-11/figures", "supervisor", params={"format": "pdf"}
    )
    assert printed.status_code == 200, printed.text
    assert printed.headers["content-type"] == "application/pdf"
    reader = PdfReader(BytesIO(printed.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "关于2026年11月全市12315消费者投诉举报处理情况的通报" in text
    assert "草稿" in text and "池州市市场监督管理局" in text
    assert "贵池分局" in text and "83.33%" in text and "样本不足" in text
    assert "TS-2" in text  # November's one criticism, by case number
    assert "按期办结率95.45%" in text.replace(" ", "").replace("\n", "")
    page = reader.pages[0]
    assert round(float(page.mediabox.width)) == 595  # A4
