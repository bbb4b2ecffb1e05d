"""The bulletin's life (通报): opened for a month, drafted, edited, published, corrected.

A bulletin is a file of kind ``bulletin`` (``TB202611V1``: the month and the version): it
has the case machinery's history, step records and review task, and is never listed among
the consumers' cases. Its figures are frozen when it is opened (the month is over, so they
are settled); the city supervisor edits its foreword and criticisms while it is a draft,
and publishing gives it its number (文号) and its SHA-256 over the canonical JSON of
what was published (``content``), which goes into its history and so into the audit
checkpoint. Nothing of a published version changes: a correction is a new version that
cites the one it replaces, and both stay readable.
"""

import hashlib
import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from api.bulletins import document, figures
from api.bulletins.figures import CaseLine, Month
from api.bulletins.models import Bulletin
from api.casefile import history
from api.casefile import service as casefile
from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case
from api.config import Settings
from api.db import utcnow
from api.errors import Conflict, Invalid, NotAllowed, NotFound
from api.rules.service import rules_in_force
from api.units.models import Unit, UnitKind
from api.users.models import Role, User
from api.workdays import ZONE, local_date

PREFIX = "TB"  # 通报


def file_no(month: Month, version: int, prefix: str = "") -> str:
    """The bulletin's file number: ``TB202611V1`` (after the deployment's case number
    prefix, if it has one)."""
    return f"{prefix}{PREFIX}{month.year:04d}{month.month:02d}V{version}"


def client_ref(month: Month, version: int) -> str:
    return f"bulletin-{month}-v{version}"


def month_before(at: datetime) -> Month:
    """The month a bulletin started at ``at`` covers: the one before, in Asia/Shanghai."""
    today = local_date(at)
    return Month(today.year, today.month).before()


def over(month: Month, today: date) -> Month:
    """``month`` if it is over by ``today``; a bulletin of a month not over is refused."""
    if month.last >= today:
        raise Invalid(
            ("month", f"{month} is not over yet"), code="bulletin.month_not_over", where="body"
        )
    return month


# --- opening -------------------------------------------------------------------------------


def open_month(*, session: Session, settings: Settings, month: Month, actor: str) -> Bulletin:
    """The month's first version, opened once: the same month asked for again (the
    schedule caught up, a start by hand) gives the one opened first."""
    found = of_version(session=session, month=month, version=1)
    if found is not None:
        return found
    try:
        return _open(session, settings, month, 1, actor=actor)
    except IntegrityError:
        session.rollback()
        found = of_version(session=session, month=month, version=1)
        if found is None:
            raise
        return found


def open_correction(
    *, session: Session, settings: Settings, month: Month, reason: str, actor: str
) -> Bulletin:
    """A new version correcting the month's latest published one. A draft already open
    for the month is refused (409), unless it is this very correction sent again."""
    versions = of_month(session=session, month=month)
    draft = next((b for b in versions if b.published_at is None), None)
    if draft is not None:
        if draft.replaces is not None and draft.reason == reason and draft.opened_by == actor:
            return draft  # the same request again, after an answer that was lost
        raise Conflict("bulletin.draft_open", f"the bulletin of {month} has a draft open already")
    if not versions:
        raise Conflict("bulletin.nothing_to_correct", f"no bulletin of {month} is published")
    latest = versions[-1]
    try:
        return _open(
            session,
            settings,
            month,
            latest.version + 1,
            actor=actor,
            replaces=latest.case_no,
            reason=reason,
        )
    except IntegrityError as error:
        session.rollback()
        raise Conflict(
            "bulletin.draft_open", f"the bulletin of {month} has a draft open already"
        ) from error


def _open(
    session: Session,
    settings: Settings,
    month: Month,
    version: int,
    *,
    actor: str,
    replaces: str | None = None,
    reason: str | None = None,
) -> Bulletin:
    now = utcnow()
    centre = session.exec(select(Unit.code).where(Unit.kind == UnitKind.CENTRE)).first()
    if centre is None:
        raise NotFound("unit.not_found", "the command centre is not among the units")
    rules = rules_in_force(session=session, settings=settings)
    no = file_no(month, version, settings.case_no_prefix)
    casefile.open_file(
        session=session,
        case_no=no,
        kind=CaseKind.BULLETIN,
        unit=centre,
        actor=actor,
        rule_set=rules.for_received(now).code,
        linked_case_no=replaces,
        client_ref=client_ref(month, version),
    )
    found = figures.compute(session, month, min_cases=settings.bulletin_min_cases)
    lines = figures.branch_cases(session, month)
    bulletin = Bulletin(
        case_no=no,
        month=str(month),
        version=version,
        replaces=replaces,
        reason=reason,
        opened_at=now,
        opened_by=actor,
        figures=found,
        cases={unit: [_line_json(line) for line in each] for unit, each in lines.items()},
        foreword=document.foreword(found, month),
        criticisms=prefilled(session, month),
    )
    session.add(bulletin)
    history.append(
        session=session,
        case_no=no,
        actor=actor,
        type="registered",
        data={"kind": CaseKind.BULLETIN, "month": str(month), "version": version}
        | ({"replaces": replaces} if replaces else {}),
    )
    session.commit()
    session.refresh(bulletin)
    return bulletin


def _line_json(line: CaseLine) -> dict[str, Any]:
    out = asdict(line)
    out["received"] = line.received.isoformat()
    out["closed"] = line.closed.isoformat() if line.closed else None
    return out


def lines(bulletin: Bulletin) -> dict[str, list[CaseLine]]:
    """The frozen case lines of each branch, as the spreadsheet lists them."""
    return {
        unit: [
            CaseLine(
                **{
                    **line,
                    "received": datetime.fromisoformat(line["received"]),
                    "closed": datetime.fromisoformat(line["closed"]) if line["closed"] else None,
                }
            )
            for line in each
        ]
        for unit, each in bulletin.cases.items()
    }


def prefilled(session: Session, month: Month) -> list[dict[str, Any]]:
    """The criticisms a draft starts from: the month's 通报批评 records, a report's
    without its number."""
    return [_criticism_json(c) for c in figures.criticisms(session, month)]


def _criticism_json(c: figures.Criticism) -> dict[str, Any]:
    report = c.case_no.startswith("（")
    return {
        "unit": c.unit,
        "reason": f"{'举报案件' if report else ''}{c.deadline or '办理'}超期，经催办仍未办结",
        "case_no": None if report else c.case_no,
    }


# --- reading -------------------------------------------------------------------------------


def of_version(*, session: Session, month: Month, version: int) -> Bulletin | None:
    return session.exec(
        select(Bulletin).where(Bulletin.month == str(month), Bulletin.version == version)
    ).first()


def of_month(*, session: Session, month: Month) -> list[Bulletin]:
    """The month's versions, oldest first."""
    return list(
        session.exec(
            select(Bulletin).where(Bulletin.month == str(month)).order_by(col(Bulletin.version))
        ).all()
    )


def of_case(*, session: Session, case_no: str) -> Bulletin:
    found = session.exec(select(Bulletin).where(Bulletin.case_no == case_no)).first()
    if found is None:
        raise NotFound("bulletin.not_found", f"{case_no} is not a bulletin")
    return found


def listed(*, session: Session, drafts: bool) -> list[Bulletin]:
    """Every version, newest month first; drafts only for who may see them."""
    query = select(Bulletin)
    if not drafts:
        query = query.where(col(Bulletin.published_at).is_not(None))
    return list(
        session.exec(query.order_by(col(Bulletin.month).desc(), col(Bulletin.version).desc()))
    )


def superseded_by(*, session: Session, bulletin: Bulletin) -> Bulletin | None:
    """The published version that corrects this one, if any."""
    return session.exec(
        select(Bulletin)
        .where(
            Bulletin.month == bulletin.month,
            Bulletin.version > bulletin.version,
            col(Bulletin.published_at).is_not(None),
        )
        .order_by(col(Bulletin.version))
    ).first()


# --- the draft -----------------------------------------------------------------------------


class CriticismIn(BaseModel):
    """One 通报批评 the bulletin lists: the branch, why, and the complaint by number."""

    unit: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=500)
    case_no: str | None = Field(default=None, max_length=32)


class DraftIn(BaseModel):
    foreword: list[str] = Field(max_length=20, description="the opening paragraphs")
    criticisms: list[CriticismIn] = Field(max_length=200)


def edit(*, session: Session, bulletin: Bulletin, body: DraftIn, actor: str) -> Bulletin:
    """Saves the draft's foreword and criticisms; a published bulletin is refused (409).

    Taken under the file's lock, as the publishing step is: what is saved before it is
    what is published, and nothing is saved after."""
    history.lock_case(session, bulletin.case_no)
    session.refresh(bulletin)
    if bulletin.published_at is not None:
        raise Conflict("bulletin.published", f"{bulletin.case_no} is published")
    bulletin.criticisms = _checked(session, Month.parse(bulletin.month), body.criticisms)
    bulletin.foreword = [p.strip() for p in body.foreword if p.strip()]
    bulletin.edited_at = utcnow()
    bulletin.edited_by = actor
    session.add(bulletin)
    history.append(
        session=session,
        case_no=bulletin.case_no,
        actor=actor,
        type="bulletin_edited",
        data={"paragraphs": len(bulletin.foreword), "criticisms": len(bulletin.criticisms)},
    )
    session.commit()
    session.refresh(bulletin)
    return bulletin


def _checked(session: Session, month: Month, listed: list[CriticismIn]) -> list[dict[str, Any]]:
    """A criticism names a branch, and at most a complaint of the branch in the month; a
    report is never named, since the bulletin goes to the whole city."""
    branches = set(session.exec(select(Unit.code).where(Unit.kind == UnitKind.BRANCH)).all())
    out = []
    for i, c in enumerate(listed):
        if c.unit not in branches:
            raise Invalid(
                (f"criticisms.{i}.unit", f"{c.unit} is not a branch"),
                code="bulletin.unknown_unit",
                where="body",
            )
        entry: dict[str, Any] = {"unit": c.unit, "reason": c.reason.strip(), "case_no": None}
        if c.case_no:
            case = session.exec(select(Case).where(Case.case_no == c.case_no)).first()
            if case is not None and case.kind == CaseKind.REPORT:
                raise Invalid(
                    (f"criticisms.{i}.case_no", "a report is not named in the bulletin"),
                    code="bulletin.report_named",
                    where="body",
                )
            if case is None or case.kind != CaseKind.COMPLAINT:
                raise Invalid(
                    (f"criticisms.{i}.case_no", f"{c.case_no} is not a complaint"),
                    code="bulletin.unknown_case",
                    where="body",
                )
            entry["case_no"] = case.case_no
        out.append(entry)
    return out


# --- publishing ----------------------------------------------------------------------------


def content(bulletin: Bulletin) -> dict[str, Any]:
    """What a published bulletin says, and what its SHA-256 is taken over."""
    return {
        "file_no": bulletin.case_no,
        "month": bulletin.month,
        "version": bulletin.version,
        "replaces": bulletin.replaces,
        "reason": bulletin.reason,
        "number": bulletin.number,
        "dated": bulletin.dated,
        "title": document.title(Month.parse(bulletin.month)),
        "foreword": bulletin.foreword,
        "criticisms": bulletin.criticisms,
        "figures": bulletin.figures,
        "cases": bulletin.cases,
    }


def canonical(value: dict[str, Any]) -> bytes:
    """The canonical JSON a hash is taken over: keys sorted, no spaces, UTF-8."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sha256(bulletin: Bulletin) -> str:
    return hashlib.sha256(canonical(content(bulletin))).hexdigest()


def number(session: Session, pattern: str, at: datetime) -> tuple[int, int, str]:
    """The next 文号 of the year: (year, seq, text), e.g. 池市监消〔2026〕12号. The
    (year, seq) pair is unique in the table: two publications racing for one number
    cannot both keep it (the loser's step is retried and takes the next)."""
    year = at.astimezone(ZONE).year
    last = session.exec(select(func.max(Bulletin.seq)).where(Bulletin.year == year)).one()
    seq = int(last or 0) + 1
    return year, seq, pattern.format(year=year, seq=seq)


# --- who sees what -------------------------------------------------------------------------


def city_supervisor(user: User) -> bool:
    """The city's supervisors (市局督办人): they draft, edit and publish; only they see a
    draft, or a month's figures before its bulletin is published."""
    return user.role == Role.SUPERVISOR and user.city_wide


def ensure_city_supervisor(user: User) -> None:
    if not city_supervisor(user):
        raise NotAllowed(
            "auth.role", "a bulletin's draft is for the city's supervisors only (市局督办人)"
        )


def readable(user: User, bulletin: Bulletin) -> Bulletin:
    """A published version is every reader's; a draft is the city supervisors' only (to
    anyone else it does not exist)."""
    if bulletin.published_at is None and not city_supervisor(user):
        raise NotFound(
            "bulletin.not_published", f"the bulletin of {bulletin.month} is not published"
        )
    return bulletin
