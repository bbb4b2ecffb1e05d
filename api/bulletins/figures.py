"""A month's figures for the city-wide bulletin (通报), per branch, as ``docs/bulletin.md``
defines them; the ranking; and the change against the month before and the same month a
year before.

The complaint figures are ``/supervision/stats``'s (one definition of each): received,
accepted, replied, closed, the on-time, reply, valid-callback and satisfaction rates,
overdue and 督办. Beside them: the criticisms (通报批评), the mediation ladder's figures
(disputes per rung, agreements in administrative and people's mediation, judicial
confirmations, the amount recovered) and the report figures (filed, not filed, reporters
told on time). Every figure is counted on the local date (Asia/Shanghai) of the event it
counts, so a month's figures are settled once the month is over.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, func, select

from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case
from api.deadlines.models import Deadline, DeadlineState
from api.mediation.ladder import Rung
from api.mediation.models import MediationRung
from api.supervision import service as supervision
from api.supervision.models import SupervisionKind, SupervisionRecord, UnitFigures
from api.units.models import Unit, UnitKind
from api.workdays import local_midnight

# The figures of a branch that are counts (summed for the city), in the order shown.
COUNTS = (
    "received",
    "accepted",
    "replied",
    "closed",
    "reached",
    "satisfied",
    "handled",
    "handled_on_time",
    "overdue",
    "supervised",
    "criticised",
    "rung_reconciliation",
    "rung_administrative",
    "rung_people",
    "rung_judicial",
    "agreements_administrative",
    "agreements_people",
    "judicial_confirmations",
    "reports_filed",
    "reports_not_filed",
    "reporters_told",
    "reporters_told_on_time",
)
# Each rate: (numerator, denominator).
RATES = {
    "on_time_rate": ("handled_on_time", "handled"),
    "reply_rate": ("replied", "accepted"),
    "valid_callback_rate": ("reached", "closed"),
    "satisfaction_rate": ("satisfied", "reached"),
    "reporters_told_on_time_rate": ("reporters_told_on_time", "reporters_told"),
}


@dataclass
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """``2026-11``; raises ValueError for anything else."""
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}", text) is None:
            raise ValueError(f"{text!r} is not a month (yyyy-mm)")
        found = cls(int(text[:4]), int(text[5:]))
        if not 1 <= found.month <= 12 or not 2000 <= found.year <= 2999:
            raise ValueError(f"{text!r} is not a month (yyyy-mm)")
        return found

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return self.next().first - timedelta(days=1)

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def before(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def a_year_before(self) -> "Month":
        return Month(self.year - 1, self.month)


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def month_counts(session: Session, month: Month) -> dict[str, dict[str, Any]]:
    """Each branch's counts for the month (every branch, zeros where nothing happened),
    and its amount recovered as a decimal string."""
    stats = supervision.stats(session=session, unit=None, start=month.first, end=month.last)
    counts: dict[str, dict[str, Any]] = {}
    for row in stats.data:
        found = _stats_counts(row)
        found.update({k: 0 for k in COUNTS if k not in found})
        found["amount_recovered"] = Decimal(0)
        counts[row.unit] = found
    lo, hi = local_midnight(month.first), local_midnight(month.next().first)
    codes = list(counts)

    for unit, n in session.exec(
        select(SupervisionRecord.unit, func.count())
        .where(
            SupervisionRecord.kind == SupervisionKind.CRITICISM,
            col(SupervisionRecord.unit).in_(codes),
            col(SupervisionRecord.at) >= lo,
            col(SupervisionRecord.at) < hi,
        )
        .group_by(col(SupervisionRecord.unit))
    ).all():
        counts[unit]["criticised"] = int(n)

    # Disputes per rung: the rung entries the branch began in the month.
    for unit, rung, n in session.exec(
        select(MediationRung.unit, MediationRung.rung, func.count())
        .where(
            col(MediationRung.unit).in_(codes),
            col(MediationRung.entered_at) >= lo,
            col(MediationRung.entered_at) < hi,
        )
        .group_by(col(MediationRung.unit), col(MediationRung.rung))
    ).all():
        counts[unit][f"rung_{rung}"] = int(n)

    # How the rungs the branch ended in the month ended, and what they recovered.
    ended = session.exec(
        select(
            MediationRung.unit, MediationRung.rung, MediationRung.outcome, MediationRung.details
        ).where(
            col(MediationRung.unit).in_(codes),
            col(MediationRung.ended_at) >= lo,
            col(MediationRung.ended_at) < hi,
        )
    ).all()
    for unit, rung, outcome, details in ended:
        figures = counts[unit]
        if outcome == "agreement" and rung == Rung.ADMINISTRATIVE:
            figures["agreements_administrative"] += 1
        elif outcome == "agreement" and rung == Rung.PEOPLE:
            figures["agreements_people"] += 1
        elif outcome == "confirmed":
            figures["judicial_confirmations"] += 1
        figures["amount_recovered"] += _amount((details or {}).get("amount_recovered", 0))

    # Reports: filed (an investigation opened), not filed (the verification decided so),
    # and the real-name reporters told of the decision, on time or late.
    for holder, n in session.exec(
        select(Deadline.unit, func.count())
        .where(
            Deadline.name == "investigate",
            col(Deadline.unit).in_(codes),
            col(Deadline.started_on) >= month.first,
            col(Deadline.started_on) <= month.last,
        )
        .group_by(col(Deadline.unit))
    ).all():
        counts[str(holder)]["reports_filed"] = int(n)
    for holder, n in session.exec(
        select(Deadline.unit, func.count())
        .join(Case, col(Case.case_no) == col(Deadline.case_no))
        .where(
            Deadline.name == "verify",
            Case.kind == CaseKind.REPORT,
            Case.outcome == "not_filed",
            col(Deadline.unit).in_(codes),
            col(Deadline.met_at) >= lo,
            col(Deadline.met_at) < hi,
        )
        .group_by(col(Deadline.unit))
    ).all():
        counts[str(holder)]["reports_not_filed"] = int(n)
    told: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for holder, state in session.exec(
        select(Deadline.unit, Deadline.state).where(
            Deadline.name == "reporter_notice",
            col(Deadline.unit).in_(codes),
            col(Deadline.met_at) >= lo,
            col(Deadline.met_at) < hi,
        )
    ).all():
        told[str(holder)][0] += 1
        told[str(holder)][1] += state == DeadlineState.MET
    for unit, (n, on_time) in told.items():
        counts[unit]["reporters_told"] = n
        counts[unit]["reporters_told_on_time"] = on_time
    return counts


def _stats_counts(row: UnitFigures) -> dict[str, Any]:
    return {
        key: getattr(row, key)
        for key in (
            "received",
            "accepted",
            "replied",
            "closed",
            "reached",
            "satisfied",
            "handled",
            "handled_on_time",
            "overdue",
            "supervised",
        )
    }


def with_rates(figures: dict[str, Any]) -> dict[str, Any]:
    out = dict(figures)
    for name, (numerator, denominator) in RATES.items():
        out[name] = rate(int(figures[numerator]), int(figures[denominator]))
    out["amount_recovered"] = f"{Decimal(figures['amount_recovered']):.2f}"
    return out


def city(counts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The whole city's counts: the branches' summed."""
    total: dict[str, Any] = {k: 0 for k in COUNTS}
    total["amount_recovered"] = Decimal(0)
    for figures in counts.values():
        for key in COUNTS:
            total[key] += figures[key]
        total["amount_recovered"] += Decimal(figures["amount_recovered"])
    return total


def change(now: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    """Now against then: a count's difference, a rate's in percentage points (None when
    either rate is unknown), the amount's difference."""
    out: dict[str, Any] = {k: now[k] - then[k] for k in COUNTS}
    for name in RATES:
        a, b = now[name], then[name]
        out[name] = None if a is None or b is None else round((a - b) * 100, 2)
    diff = Decimal(now["amount_recovered"]) - Decimal(then["amount_recovered"])
    out["amount_recovered"] = f"{diff:.2f}"
    return out


def ranking(branches: list[dict[str, Any]], min_cases: int) -> None:
    """Ranks the branches in place: on the on-time rate, then satisfaction (a branch with
    no satisfaction figure after those with one), equal on both sharing a rank. A branch
    with fewer than ``min_cases`` handle deadlines ended in the month is not ranked
    (样本不足)."""
    ranked = [b for b in branches if b["handled"] >= min_cases]

    def key(b: dict[str, Any]) -> tuple[float, float]:
        satisfaction = b["satisfaction_rate"]
        return (-(b["on_time_rate"] or 0.0), -(satisfaction if satisfaction is not None else -1))

    ranked.sort(key=lambda b: (*key(b), b["unit"]))
    previous: tuple[float, float] | None = None
    for place, branch in enumerate(ranked, 1):
        if key(branch) != previous:
            rank = place
        branch["rank"] = rank
        previous = key(branch)
    for branch in branches:
        branch.setdefault("rank", None)
    branches.sort(key=lambda b: (b["rank"] is None, b["rank"] or 0, b["unit"]))


def compute(session: Session, month: Month, *, min_cases: int) -> dict[str, Any]:
    """The bulletin's figures for the month: each branch with its rates, its rank, and its
    change against the month before and the same month a year before; and the city's."""
    names = dict(
        session.exec(select(Unit.code, Unit.name).where(Unit.kind == UnitKind.BRANCH)).all()
    )
    now = month_counts(session, month)
    before = month_counts(session, month.before())
    year_ago = month_counts(session, month.a_year_before())
    branches = []
    for unit, figures in now.items():
        shown = with_rates(figures)
        shown["unit"] = unit
        shown["name"] = names.get(unit, unit)
        shown["vs_month_before"] = change(shown, with_rates(before[unit]))
        shown["vs_year_before"] = change(shown, with_rates(year_ago[unit]))
        branches.append(shown)
    ranking(branches, min_cases)
    total = with_rates(city(now))
    total["vs_month_before"] = change(total, with_rates(city(before)))
    total["vs_year_before"] = change(total, with_rates(city(year_ago)))
    return {
        "month": str(month),
        "from": month.first.isoformat(),
        "to": month.last.isoformat(),
        "min_cases": min_cases,
        "branches": branches,
        "city": total,
    }
