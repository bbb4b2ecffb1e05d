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
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, and_, col, func, or_, select

from api import labels
from api.campaigns import service as campaigns
from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case
from api.deadlines.models import Deadline, DeadlineState
from api.mediation.ladder import Rung
from api.mediation.models import MediationRung
from api.supervision import rollup
from api.supervision import service as supervision
from api.supervision.models import SupervisionKind, SupervisionRecord, UnitFigures
from api.units.models import Unit, UnitKind
from api.workdays import ZONE, local_midnight

# The counts ``/supervision/stats`` gives (one definition of each).
STATS_COUNTS = supervision.STATS
# The figures of a branch that are counts (summed for the city), in the order shown.
COUNTS = (
    *STATS_COUNTS,
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

    @classmethod
    def requested(cls, text: str, today: date) -> "Month":
        """A month asked for (``2026-11``) that has begun by ``today``; raises ValueError."""
        found = cls.parse(text)
        if found.first > today:
            raise ValueError(f"{text} has not begun")
        return found

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """As a chart's axis writes it: 11月, and 2026年1月 where a year begins."""
        return f"{self.month}月" if self.month != 1 else f"{self.year}年1月"

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
    and its amount recovered as a decimal: the month's days of the rollup the steps keep
    (``api.supervision.rollup``), one range query whatever the years of cases."""
    summed = rollup.sums(session, month.first, month.last)
    branches = session.exec(select(Unit.code).where(Unit.kind == UnitKind.BRANCH)).all()
    counts: dict[str, dict[str, Any]] = {}
    for code in branches:
        found: Counter[str] = summed.get(code, Counter())
        counts[code] = {k: int(found.get(k, 0)) for k in COUNTS}
        counts[code]["amount_recovered"] = Decimal(found.get(rollup.AMOUNT, 0)) / 100
    return counts


def recount_month(session: Session, month: Month) -> dict[str, dict[str, Any]]:
    """The same counts from the records themselves, by the definitions of
    ``docs/bulletin.md``: what the rollup is held to."""
    stats = supervision.recount(session=session, unit=None, start=month.first, end=month.last)
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
    return {key: getattr(row, key) for key in STATS_COUNTS}


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


Counts = Callable[[Session, "Month"], dict[str, dict[str, Any]]]


def compute(
    session: Session, month: Month, *, min_cases: int, counts: Counts | None = None
) -> dict[str, Any]:
    """The bulletin's figures for the month: each branch with its rates, its rank, and its
    change against the month before and the same month a year before; and the city's.
    ``counts``: where the counts come from (the rollup; ``recount_month`` to check it)."""
    count = counts or month_counts
    names = dict(
        session.exec(select(Unit.code, Unit.name).where(Unit.kind == UnitKind.BRANCH)).all()
    )
    now = count(session, month)
    before = count(session, month.before())
    year_ago = count(session, month.a_year_before())
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
        # The special campaigns of the month (专项整治): each branch's filed against its quota.
        "campaigns": campaigns.bulletin_lines(session, month.first, month.last),
    }


# Each figure's Chinese name, and its definition in a line (``docs/bulletin.md`` has them
# in full), in the order the bulletin shows them.
NAMES = {
    "on_time_rate": ("按期办结率", "按期办结 ÷ 办理：本月结束的处理时限中，在最后一日前结束的比例"),
    "satisfaction_rate": ("满意率", "满意（含基本满意）÷ 有效回访"),
    "reply_rate": ("回复率", "答复 ÷ 受理：本月收到并受理的投诉中，已答复的比例"),
    "valid_callback_rate": (
        "有效回访率",
        "有效回访 ÷ 办结：本月办结的投诉中，回访联系上投诉人的比例",
    ),
    "received": ("收到", "本月收到、由本单位承办的投诉（退回后改派的，计入现承办单位）"),
    "accepted": ("受理", "其中指挥中心受理并分送本单位的"),
    "replied": ("答复", "其中本单位处理时限已结束的（答复，或处理中撤回）"),
    "closed": ("办结", "本月回访后办结的投诉（撤回的不计；举报不计）"),
    "reached": ("有效回访", "其中回访联系上投诉人的"),
    "satisfied": ("满意", "其中满意或基本满意的"),
    "handled": ("办理", "本月结束的本单位处理时限（含退回重办后的第二个时限，含退回、撤回）"),
    "handled_on_time": ("按期办结", "其中在最后一日（含批准延期、中止计时）前结束的"),
    "overdue": ("超期", "最后一日在本月、未按期完成的本单位时限（不含法院等外部期限）"),
    "supervised": ("督办", "本月对本单位的超期、催办通知书、通报批评和督办催办（按次计）"),
    "criticised": ("通报批评", "其中通报批评"),
    "rung_reconciliation": ("和解", "本月开始的和解"),
    "rung_administrative": ("行政调解", "本月开始的行政调解"),
    "rung_people": ("人民调解", "本月开始的人民调解"),
    "rung_judicial": ("司法确认／诉讼", "本月开始的司法确认或诉讼"),
    "agreements_administrative": ("行政调解达成协议", "本月以达成协议结束的行政调解"),
    "agreements_people": ("人民调解达成协议", "本月以达成协议结束的人民调解"),
    "judicial_confirmations": ("司法确认", "本月经人民法院裁定确认有效的调解协议"),
    "amount_recovered": ("挽回经济损失（元）", "本月结束的调解层级记录的挽回经济损失之和"),
    "reports_filed": ("立案", "本月立案调查的举报"),
    "reports_not_filed": ("不予立案", "本月核查后决定不予立案的举报"),
    "reporters_told": ("告知举报人", "本月完成的告知实名举报人"),
    "reporters_told_on_time": ("按期告知", "其中在期限内告知的"),
    "reporters_told_on_time_rate": ("按期告知率", "按期告知 ÷ 告知举报人"),
}


@dataclass(frozen=True)
class CaseLine:
    """A case a branch's sheet lists: what put it into the month, by number only."""

    case_no: str
    received: datetime
    status: str
    handle_last_day: str  # 2026年11月30日止, or ""
    on_time: str  # 按期 / 超期 / 未结束
    closed: datetime | None
    callback: str


def branch_cases(session: Session, month: Month) -> dict[str, list[CaseLine]]:
    """Each branch's complaints that count in the month, by number: received by it, closed
    by it, or whose handle deadline of it ended in the month. Oldest received first."""
    lo, hi = local_midnight(month.first), local_midnight(month.next().first)
    in_month = select(Deadline.case_no, Deadline.unit).where(
        Deadline.name == "handle", col(Deadline.met_at) >= lo, col(Deadline.met_at) < hi
    )
    pairs: set[tuple[str, str]] = {(no, str(unit)) for no, unit in session.exec(in_month).all()}
    for no, unit in session.exec(
        select(Case.case_no, Case.unit).where(
            Case.kind == CaseKind.COMPLAINT,
            col(Case.unit).is_not(None),
            or_(
                and_(col(Case.received_at) >= lo, col(Case.received_at) < hi),
                and_(col(Case.closed_at) >= lo, col(Case.closed_at) < hi),
            ),
        )
    ).all():
        pairs.add((no, str(unit)))
    numbers = {no for no, _ in pairs}
    found = {c.case_no: c for c in session.exec(select(Case).where(col(Case.case_no).in_(numbers)))}
    deadlines: dict[tuple[str, str], Deadline] = {}
    for d in session.exec(
        select(Deadline)
        .where(Deadline.name == "handle", col(Deadline.case_no).in_(numbers))
        .order_by(col(Deadline.id))
    ).all():
        deadlines[(d.case_no, str(d.unit))] = d  # the latest of each unit
    lines: dict[str, list[CaseLine]] = defaultdict(list)
    for no, unit in sorted(pairs, key=lambda p: (found[p[0]].received_at, p[0])):
        case = found[no]
        handle = deadlines.get((no, unit))
        on_time = "未结束"
        if handle is not None and handle.met_at is not None:
            on_time = "按期" if handle.state == DeadlineState.MET else "超期"
        lines[unit].append(
            CaseLine(
                case_no=no,
                received=case.received_at.astimezone(ZONE),
                status=labels.name(labels.STATUS, case.status),
                handle_last_day=f"{labels.day(handle.due_date)}止" if handle else "",
                on_time=on_time if handle else "",
                closed=case.closed_at.astimezone(ZONE) if case.closed_at else None,
                callback=labels.name(labels.CHOICE, case.satisfaction),
            )
        )
    return lines


@dataclass(frozen=True)
class Criticism:
    """A 通报批评 of the month, as the bulletin lists it: the unit, the deadline missed,
    when, and the case by number (a report's number is left out: the bulletin goes to the
    whole city, and a report is not named in it)."""

    unit: str
    unit_name: str
    deadline: str
    at: datetime
    case_no: str


def criticisms(session: Session, month: Month) -> list[Criticism]:
    """The month's criticisms (通报批评) of the branches, in order: what the supervisor's
    list is pre-filled with."""
    lo, hi = local_midnight(month.first), local_midnight(month.next().first)
    names = dict(session.exec(select(Unit.code, Unit.name)).all())
    rows = session.exec(
        select(SupervisionRecord, Case.kind)
        .join(Case, col(Case.case_no) == col(SupervisionRecord.case_no))
        .where(
            SupervisionRecord.kind == SupervisionKind.CRITICISM,
            col(SupervisionRecord.at) >= lo,
            col(SupervisionRecord.at) < hi,
        )
        .order_by(col(SupervisionRecord.at), col(SupervisionRecord.id))
    ).all()
    return [
        Criticism(
            unit=r.unit,
            unit_name=names.get(r.unit, r.unit),
            deadline=labels.name(labels.DEADLINE, r.deadline),
            at=r.at.astimezone(ZONE),
            case_no=r.case_no if kind == CaseKind.COMPLAINT else "（举报案件）",
        )
        for r, kind in rows
    ]
