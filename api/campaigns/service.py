"""Special campaigns (专项整治) and their quotas.

- **The campaigns** are seeded from ``config/campaigns.json`` (a code missing from the
  database is added at start-up; one there already is kept as the admin left it) and kept
  by the admin through the API: name, products, period, quotas, each change on record.
- **Progress.** A report counts toward a campaign when it is tagged to it and filed (立案:
  its investigation opened), for the branch that filed it, from the later of the two days;
  an untagged report no longer counts, and its untagging is on record.
- **The campaign's file** (kind ``campaign``, ``ZX2026001``) is opened for the year it
  runs in, once; its ``DutyWorkflow`` reaches each quarter's end within the period and the
  period's end (``api.campaigns.steps``).
"""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.campaigns.models import (
    BranchProgress,
    Campaign,
    CampaignChange,
    CampaignCheckpoint,
    CampaignCreate,
    CampaignFields,
    CampaignTag,
    CampaignUpdate,
)
from api.casefile import history
from api.casefile import service as casefile
from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case
from api.config import Settings
from api.db import utcnow
from api.deadlines.models import Deadline
from api.errors import Conflict, Invalid, NotAllowed, NotFound
from api.rules.service import rules_in_force
from api.units.models import Unit, UnitKind
from api.users.models import CITY_UNIT, Role, User
from api.workdays import local_date

PREFIX = "ZX"  # 专项
FILED = "investigate"  # the deadline a filing (立案) opens, with the unit that filed


# --- the campaigns -----------------------------------------------------------------------


def seed(*, session: Session, path: Path) -> None:
    """Adds the campaigns of the file the database lacks; keeps those it has."""
    data = json.loads(path.read_text(encoding="utf-8"))
    known = set(session.exec(select(Campaign.code)).all())
    for entry in data["campaigns"]:
        if entry["code"] in known:
            continue
        body = CampaignCreate.model_validate({k: v for k, v in entry.items() if k != "_comment"})
        session.add(Campaign(**body.model_dump()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # another process seeded them first


def names(session: Session) -> dict[str, str]:
    """code → name of every campaign (a report may be tagged to any)."""
    return dict(session.exec(select(Campaign.code, Campaign.name).order_by(col(Campaign.id))).all())


def listed(session: Session) -> list[Campaign]:
    return list(session.exec(select(Campaign).order_by(col(Campaign.starts_on), col(Campaign.id))))


def get(session: Session, code: str) -> Campaign:
    found = session.exec(select(Campaign).where(Campaign.code == code)).first()
    if found is None:
        raise NotFound("campaigns.not_found", f"no campaign {code}")
    return found


def of_case(session: Session, case_no: str) -> Campaign:
    found = session.exec(select(Campaign).where(Campaign.case_no == case_no)).first()
    if found is None:
        raise NotFound("campaigns.not_found", f"{case_no} is not a campaign's file")
    return found


def _admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise NotAllowed("auth.role", "campaigns are kept by the admin")


def _branches(session: Session) -> set[str]:
    return set(session.exec(select(Unit.code).where(Unit.kind == UnitKind.BRANCH)).all())


def _checked(session: Session, body: CampaignFields) -> None:
    unknown = sorted(set(body.quotas) - _branches(session))
    if unknown:
        raise Invalid(
            (f"quotas.{unknown[0]}", f"{unknown[0]} is not a branch"),
            code="campaigns.unknown_branch",
        )


def create(*, session: Session, user: User, body: CampaignCreate) -> Campaign:
    _admin(user)
    _checked(session, body)
    made = Campaign(**body.model_dump())
    session.add(made)
    session.add(CampaignChange(campaign=body.code, by=user.username, change={"created": body.code}))
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise Conflict("campaigns.taken", f"a campaign {body.code} exists") from error
    session.refresh(made)
    return made


def update(*, session: Session, user: User, code: str, body: CampaignUpdate) -> Campaign:
    """Saves the campaign from the version read (409 ``campaigns.changed`` if another
    saved meanwhile). Its period is fixed once its file is open: its workflow keeps time
    by it (409 ``campaigns.period_fixed``)."""
    _admin(user)
    _checked(session, body)
    found = get(session, code)
    fields = body.model_dump(exclude={"version"})
    before = {k: _plain(getattr(found, k)) for k in fields}
    after = {k: _plain(v) for k, v in fields.items()}
    moved = before["starts_on"] != after["starts_on"] or before["ends_on"] != after["ends_on"]
    if found.case_no is not None and moved:
        raise Conflict("campaigns.period_fixed", f"{code} runs: its period cannot change")
    done = session.execute(
        sql_update(Campaign)
        .where(col(Campaign.code) == code, col(Campaign.version) == body.version)
        .values(**fields, version=body.version + 1)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("campaigns.changed", f"{code} was saved by someone else meanwhile")
    edited = {k: {"from": before[k], "to": after[k]} for k in fields if before[k] != after[k]}
    session.add(CampaignChange(campaign=code, by=user.username, change={"edited": edited}))
    session.commit()
    return get(session, code)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def changes(session: Session, code: str) -> list[CampaignChange]:
    get(session, code)
    return list(
        session.exec(
            select(CampaignChange)
            .where(CampaignChange.campaign == code)
            .order_by(col(CampaignChange.id))
        )
    )


def readable(user: User) -> str | None:
    """The branch a reader sees the progress of: every one for the city, its own for a
    branch (supervisors and handlers); None: every branch."""
    if user.role not in (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN, Role.HANDLER):
        raise NotAllowed("auth.role", "campaigns are read by supervisors, handlers and auditors")
    return None if user.unit == CITY_UNIT else user.unit


# --- tagging ---------------------------------------------------------------------------------


def tag(*, session: Session, user: User, case: Case, campaign: str | None) -> bool:
    """Tags the report to ``campaign`` (None: untags it), on record in the tags and the
    case's history. False: it was so already."""
    may = user.role == Role.SUPERVISOR or (user.role == Role.HANDLER and user.unit == case.unit)
    if not may:
        raise NotAllowed("auth.role", "a report is tagged by its handlers and supervisors")
    if case.kind != CaseKind.REPORT:
        raise Conflict("campaigns.not_a_report", f"{case.case_no} is not a report")
    if campaign is not None and campaign not in names(session):
        raise Invalid(("campaign", f"unknown campaign: {campaign}"), code="campaigns.not_found")
    previous = case.campaign
    if previous == campaign:
        return False
    case.campaign = campaign
    session.add(case)
    session.add(
        CampaignTag(case_no=case.case_no, campaign=campaign, previous=previous, by=user.username)
    )
    history.append(
        session=session,
        case_no=case.case_no,
        actor=user.username,
        type="campaign_tagged" if campaign else "campaign_untagged",
        data={"campaign": campaign, "previous": previous},
    )
    session.commit()
    return True


# --- progress --------------------------------------------------------------------------------


def filed(session: Session, campaign: Campaign, until: date) -> dict[str, int]:
    """Each branch's reports counted toward the campaign up to ``until`` (inclusive): tagged
    to it now, filed by the branch, counted from the later of the filing and the tagging,
    within the period."""
    rows = session.exec(
        select(
            col(Case.case_no), col(Case.registered_at), col(Deadline.unit), col(Deadline.started_on)
        )
        .join(Deadline, col(Deadline.case_no) == col(Case.case_no))
        .where(
            Case.campaign == campaign.code,
            Case.kind == CaseKind.REPORT,
            Deadline.name == FILED,
        )
    ).all()
    tagged: dict[str, date] = {}
    for case_no, at in session.exec(
        select(CampaignTag.case_no, CampaignTag.at)
        .where(CampaignTag.campaign == campaign.code)
        .where(col(CampaignTag.case_no).in_([r[0] for r in rows]))
        .order_by(col(CampaignTag.id))
    ):
        tagged[case_no] = local_date(at)  # the latest tagging counts
    out: dict[str, int] = {}
    seen: set[str] = set()
    for case_no, registered_at, unit, started_on in rows:
        if unit is None or case_no in seen:
            continue  # one filing per report
        seen.add(case_no)
        since = max(started_on, tagged.get(case_no, local_date(registered_at)))
        if campaign.starts_on <= since <= min(until, campaign.ends_on):
            out[unit] = out.get(unit, 0) + 1
    return out


def share_due(campaign: Campaign, on: date) -> float:
    """The part of the period gone by the end of ``on`` (0 before it, 1 after)."""
    days = (campaign.ends_on - campaign.starts_on).days + 1
    gone = (min(on, campaign.ends_on) - campaign.starts_on).days + 1
    return max(0.0, min(1.0, gone / days))


def progress(session: Session, campaign: Campaign, on: date, final: bool) -> list[BranchProgress]:
    """Each branch with a quota: filed by ``on``, the share of its quota due by then,
    behind it or not; ``final``: met or missed."""
    counted = filed(session, campaign, on)
    share = share_due(campaign, on)
    out = []
    for unit, quota in sorted(campaign.quotas.items()):
        n = counted.get(unit, 0)
        due = round(int(quota) * share, 2)
        out.append(
            BranchProgress(
                unit=unit,
                filed=n,
                quota=int(quota),
                due_by_now=due,
                behind=n < due,
                met=(n >= int(quota)) if final else None,
            )
        )
    return out


def final_results(session: Session, campaign: Campaign) -> CampaignCheckpoint | None:
    return session.exec(
        select(CampaignCheckpoint).where(
            CampaignCheckpoint.campaign == campaign.code, col(CampaignCheckpoint.final)
        )
    ).first()


def checkpoints(session: Session, code: str) -> list[CampaignCheckpoint]:
    return list(
        session.exec(
            select(CampaignCheckpoint)
            .where(CampaignCheckpoint.campaign == code)
            .order_by(col(CampaignCheckpoint.on))
        )
    )


@dataclass(frozen=True)
class Stop:
    """A day the campaign's workflow looks at the progress: a quarter's end, or the end."""

    name: str  # campaign_2026q1 …, campaign_end
    on: date
    final: bool


def stops(campaign: Campaign) -> list[Stop]:
    """Each quarter's end within the period (before its last day), then its last day."""
    out = []
    for year in range(campaign.starts_on.year, campaign.ends_on.year + 1):
        for quarter, (month, day) in enumerate(((3, 31), (6, 30), (9, 30), (12, 31)), 1):
            end = date(year, month, day)
            if campaign.starts_on <= end < campaign.ends_on:
                out.append(Stop(f"campaign_{year}q{quarter}", end, False))
    out.append(Stop("campaign_end", campaign.ends_on, True))
    return out


# --- the files -------------------------------------------------------------------------------


def file_no(campaign: Campaign, prefix: str = "") -> str:
    return f"{prefix}{PREFIX}{campaign.starts_on.year}{campaign.id or 0:03d}"


def open_year(*, session: Session, settings: Settings, year: int, actor: str) -> list[str]:
    """The file of every campaign running in ``year`` (its period touches it), each opened
    once; those opened before are answered again."""
    numbers = []
    for campaign in listed(session):
        if not campaign.starts_on.year <= year <= campaign.ends_on.year:
            continue
        if campaign.case_no is None:
            _open(session, settings, campaign, actor)
        if campaign.case_no is not None:
            numbers.append(campaign.case_no)
    return numbers


def _open(session: Session, settings: Settings, campaign: Campaign, actor: str) -> None:
    no = file_no(campaign, settings.case_no_prefix)
    rules = rules_in_force(session=session, settings=settings)
    try:
        casefile.open_file(
            session=session,
            case_no=no,
            kind=CaseKind.CAMPAIGN,
            unit=CITY_UNIT,
            actor=actor,
            rule_set=rules.for_received(utcnow()).code,
        )
        campaign.case_no = no
        session.add(campaign)
        history.append(
            session=session,
            case_no=no,
            actor=actor,
            type="registered",
            data={"kind": CaseKind.CAMPAIGN, "campaign": campaign.code},
        )
        session.commit()
    except IntegrityError:
        session.rollback()  # another run opened it meanwhile
        session.refresh(campaign)


def behind_now(session: Session, campaign: Campaign) -> list[BranchProgress]:
    """The progress as of today (the period's end once it is over)."""
    today = local_date(utcnow())
    ended = final_results(session, campaign) is not None
    return progress(session, campaign, min(today, campaign.ends_on), ended)


# --- the bulletin ----------------------------------------------------------------------------


def bulletin_lines(session: Session, first: date, last: date) -> list[dict[str, Any]]:
    """The campaigns counted toward the targets that run in the month ``first``–``last``:
    each branch's reports filed by its end, its quota, and once the campaign is over, met
    or missed (what its workflow recorded at the end, or the count if it has not yet)."""
    out = []
    names = dict(session.exec(select(Unit.code, Unit.name)).all())
    for campaign in listed(session):
        if not campaign.counted or campaign.ends_on < first or campaign.starts_on > last:
            continue
        ended = campaign.ends_on <= last
        recorded = final_results(session, campaign) if ended else None
        if recorded is not None:
            lines = [BranchProgress.model_validate(v) for _, v in sorted(recorded.results.items())]
        else:
            lines = progress(session, campaign, min(last, campaign.ends_on), ended)
        out.append(
            {
                "code": campaign.code,
                "name": campaign.name,
                "starts_on": campaign.starts_on.isoformat(),
                "ends_on": campaign.ends_on.isoformat(),
                "ended": ended,
                "branches": [
                    {
                        "unit": p.unit,
                        "name": names.get(p.unit, p.unit),
                        "filed": p.filed,
                        "quota": p.quota,
                        "met": p.met,
                    }
                    for p in lines
                ],
            }
        )
    return out
