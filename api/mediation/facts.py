"""What a rung's completion records: the structured facts of its body for the rung being
left and the stage entered (dates, amounts, grounds with their articles, the committee or
court), and the event it appends to the case's history. Free text stays on the task."""

from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel

from api.casefile.models import Case
from api.mediation.models import amount
from api.steps.kit import StepContext
from api.tasks import forms
from api.workdays import ZONE


def _committee(ctx: StepContext, code: str | None) -> dict[str, Any]:
    if code is None:
        return {}
    return {"committee": code, "committee_name": ctx.committees.get(code, code)}


def _noon(day: date) -> datetime:
    """A day as an instant inside it, to count a deadline from it (that day not counted)."""
    return datetime.combine(day, time(12), ZONE)


def facts(ctx: StepContext, case: Case, body: BaseModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """The structured facts of a body for the rung being left, and for the stage entered."""
    match body:
        case forms.Settled() | forms.Agreement() | forms.CourtDecided():
            return {"amount_recovered": amount(body.amount_recovered)}, {}
        case forms.Termination():
            ground = ctx.rules.by_code(case.rule_set).ground("terminate", body.ground)
            return {"ground": body.ground, "article": ground.article if ground else None}, {}
        case forms.TerminationNotice():
            told = {
                "complainant": body.complainant,
                "respondent": body.respondent,
                "told_on": body.told_on.isoformat(),
            }
            return {"notified": told}, _committee(ctx, body.committee)
        case forms.CommitteeAgreement():
            facts = {
                "signed_on": body.signed_on.isoformat(),
                "amount_recovered": amount(body.amount_recovered),
            }
            # 人民调解法 art. 33: the 30 days run from the agreement taking effect (signed).
            return facts, {"signed_on": body.signed_on.isoformat(), "start": _noon(body.signed_on)}
        case forms.JudicialApplied():
            onward = {"court": body.court, "start": _noon(body.applied_on)}
            return {"court": body.court, "applied_on": body.applied_on.isoformat()}, onward
        case forms.RulingConfirmed():
            # 司法确认: the agreement can now be enforced by a court (申请强制执行).
            confirmed = {
                "ruling_no": body.ruling_no,
                "ruled_on": body.ruled_on.isoformat(),
                "enforceable": True,
            }
            return confirmed, {}
        case forms.RulingInvalid():
            refused: dict[str, Any] = {
                "ruling_no": body.ruling_no,
                "ruled_on": body.ruled_on.isoformat(),
            }
            return refused, _committee(ctx, body.committee)
        case forms.CourtEntrusted():
            onward = {
                "due_on": body.due_on,
                "court_ref": body.court_ref,
                **_committee(ctx, body.committee),
            }
            return {"entrusted_to": body.rung}, onward
    return {}, {}


def _plain(body: Any, facts: dict[str, Any]) -> dict[str, Any]:
    return {}


def event(body: BaseModel, facts: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The event a rung's completion records, and its data (facts only, no free text)."""
    name, data = _EVENTS[type(body)]
    return name, data(body, facts)


_EVENTS: dict[type, tuple[str, Any]] = {
    forms.Settled: ("reconciled", lambda b, f: {"amount_recovered": f["amount_recovered"]}),
    forms.NotSettled: ("reconciliation_failed", _plain),
    forms.Agreement: ("mediation_agreed", lambda b, f: {"amount_recovered": f["amount_recovered"]}),
    forms.Termination: ("mediation_terminated", lambda b, f: {"ground": b.ground}),
    forms.Return: ("mediation_returned", _plain),
    forms.TerminationNotice: (
        "termination_notified",
        lambda b, f: {**f["notified"], "next": b.next},
    ),
    forms.CommitteeAgreement: (
        "people_mediation_agreed",
        lambda b, f: {"signed_on": f["signed_on"]},
    ),
    forms.CommitteeFailed: ("people_mediation_failed", lambda b, f: {"next": b.next}),
    forms.JudicialApplied: ("judicial_confirmation_applied", lambda b, f: {"court": b.court}),
    forms.JudicialDeclined: ("judicial_confirmation_declined", _plain),
    forms.RulingConfirmed: ("judicially_confirmed", lambda b, f: {"ruling_no": b.ruling_no}),
    forms.RulingInvalid: ("judicial_confirmation_refused", lambda b, f: {"next": b.next}),
    forms.CourtDecided: ("court_outcome", lambda b, f: {"outcome": b.outcome}),
    forms.CourtEntrusted: ("court_entrusted", lambda b, f: {"rung": b.rung}),
}
