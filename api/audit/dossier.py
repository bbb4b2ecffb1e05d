"""The case dossier (案件卷宗): one printable page in Chinese with everything an auditor or a
reviewing body (行政复议, a court) needs about a case.

It is built from the same services as the JSON routes: the case as the reader may see it
(a sealed reporter stays sealed, and a reveal is recorded), its history, the statutory
text of every ground a decision cited (from the case's own rule set), its deadlines, its
supervision record, its mediation rungs, and the verification of its record.

The PDF is the same page printed (A4, as its ``@page`` rule says), with nothing fetched."""

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from api import labels
from api.audit.models import VerificationPublic
from api.casefile import service as casefile
from api.cases import service as cases
from api.config import Settings
from api.rules.service import rules_in_force
from api.supervision.models import SupervisionRecord
from api.users.models import User
from api.workdays import ZONE

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# The events whose ground is a statutory one, and which kind of ground.
_GROUNDS = {"rejected": "reject", "mediation_terminated": "terminate"}


day = labels.day
moment = labels.moment


def content(*, session: Session, settings: Settings, user: User, case_no: str) -> dict[str, Any]:
    """What the page shows, as the reader may see it."""
    case = casefile.get_visible(session=session, user=user, case_no=case_no)
    public = cases.to_public(session=session, user=user, case=case)
    ruleset = rules_in_force(session=session, settings=settings).by_code(case.rule_set)
    timeline = []
    decisions = []
    for event in cases.events_as_seen(session=session, user=user, case=case):
        timeline.append(
            {
                "seq": event.seq,
                "at": moment(event.at),
                "actor": event.actor,
                "what": labels.name(labels.EVENT, event.type),
                "data": event.data,
            }
        )
        kind = _GROUNDS.get(event.type)
        code = event.data.get("ground") if kind else None
        if kind and code:
            ground = ruleset.ground(kind, str(code))
            decisions.append(
                {
                    "at": moment(event.at),
                    "what": labels.name(labels.EVENT, event.type),
                    "by": event.actor,
                    "code": code,
                    "article": ground.article if ground else "",
                    "text": ground.text if ground else "（规则集中无此依据）",
                }
            )
    records = session.exec(
        select(SupervisionRecord)
        .where(SupervisionRecord.case_no == case.case_no)
        .order_by(col(SupervisionRecord.at), col(SupervisionRecord.id))
    ).all()
    return {
        "case": public,
        "kind": labels.name(labels.KIND, public.kind),
        "channel": labels.name(labels.CHANNEL, public.channel),
        "status": labels.name(labels.STATUS, public.status),
        "received": moment(public.received_at),
        "registered": moment(public.registered_at),
        "closed": moment(public.closed_at) if public.closed_at else "",
        "rule_set": f"{ruleset.name}（{ruleset.code}）",
        "timeline": timeline,
        "decisions": decisions,
        "deadlines": [
            {
                "name": labels.name(labels.DEADLINE, d.name),
                "due": day(d.due_date) + "止" + ("（暂定）" if d.provisional else ""),
                "state": labels.name(labels.DEADLINE_STATE, d.state),
                "overdue": d.state == "overdue",
            }
            for d in public.deadlines
        ],
        "supervision": [
            {
                "at": moment(r.at),
                "kind": labels.name(labels.SUPERVISION, r.kind),
                "unit": r.unit,
                "handler": r.handler or "",
                "deadline": labels.name(labels.DEADLINE, r.deadline),
            }
            for r in records
        ],
        "rungs": [
            {
                "rung": labels.name(labels.RUNG, r.rung),
                "entered": moment(r.entered_at),
                "ended": moment(r.ended_at) if r.ended_at else "",
                "outcome": r.outcome or "",
            }
            for r in (public.mediation.rungs if public.mediation else [])
        ],
        "printed": moment(datetime.now(ZONE)),
        "reader": f"{user.username}（{user.unit}）",
    }


def verification_text(verified: VerificationPublic) -> dict[str, Any]:
    cover = verified.checkpoint
    return {
        "ok": verified.ok,
        "summary": (
            f"完整：{verified.events} 条记录的哈希链完整，与 Temporal 的 "
            f"{verified.temporal_events} 个事件相互印证"
            if verified.ok
            else f"异常：第 {verified.first_bad_seq} 条记录起不符（{verified.reason}）"
        ),
        "checkpoint": (
            f"第 {cover.id} 号签名检查点（{moment(cover.at)}）覆盖本案至第 {cover.seq} 条记录"
            if cover
            else "尚无签名检查点覆盖本案"
        ),
    }


def html(page: dict[str, Any]) -> str:
    """The page as HTML: the HTML answer, and what the PDF is printed from."""
    return templates.get_template("dossier.html").render(page)


def pdf(page: str) -> bytes:
    """The HTML page printed. CPU-bound and synchronous: a route calls it in the threadpool.

    No resource is fetched, local or remote (no protocol is allowed): the page is printed
    from itself and the system's fonts alone."""
    # Imported here: WeasyPrint takes a second and a half to import and needs Pango, which
    # only a PDF should pay for (the API starts, and the HTML page works, without them).
    import weasyprint
    from weasyprint.urls import URLFetcher

    document = weasyprint.HTML(
        string=page, base_url=None, url_fetcher=URLFetcher(allowed_protocols=())
    )
    printed: bytes = document.write_pdf()
    return printed


async def response(html: str, number: str, format: str, *, download: bool) -> Response:
    """The dossier as its page, or printed as a PDF (in the threadpool: WeasyPrint takes a
    second or so); ``download`` asks the browser to save the PDF rather than show it."""
    if format == "html":
        return HTMLResponse(html)
    disposition = "attachment" if download else "inline"
    return Response(
        await run_in_threadpool(pdf, html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{number}-dossier.pdf"'},
    )
