"""The mediation ladder (三位一体 + 诉调衔接): its rungs, stages and the moves between them.

Pure domain code, unit-tested without a database or Temporal. A dispute climbs:

0. 和解 reconciliation: the business settles at a 五进 station or an online-dispute (ODR)
   enterprise, before or instead of the bureau's mediation;
1. 行政调解 administrative mediation by the branch (45 working days, then terminated by law);
   a termination is told to both parties within 7 working days;
2. 人民调解 people's mediation by a named committee, when both parties consent;
3. 司法 judicial: confirmation (司法确认) of a people's-mediation agreement, applied for
   jointly within 30 days of it taking effect (人民调解法 art. 33); or litigation guidance
   and the court's outcome, from which a court may hand the dispute back (委托调解).

Every move is one entry of ``MOVES``: where it leads, the consent it legally needs, and
what it makes of the rung being left. A move that is not in the table is illegal.
"""

from dataclasses import dataclass
from enum import StrEnum


class Rung(StrEnum):
    RECONCILIATION = "reconciliation"  # 0 和解
    ADMINISTRATIVE = "administrative"  # 1 行政调解
    PEOPLE = "people"  # 2 人民调解
    JUDICIAL = "judicial"  # 3 司法确认 / 诉讼


LEVEL: dict[Rung, int] = {
    Rung.RECONCILIATION: 0,
    Rung.ADMINISTRATIVE: 1,
    Rung.PEOPLE: 2,
    Rung.JUDICIAL: 3,
}


class Stage(StrEnum):
    RECONCILING = "reconciling"  # 和解：商家在维权站自行和解
    MEDIATING = "mediating"  # 行政调解：分局组织调解
    NOTIFYING = "notifying"  # 终止调解：七个工作日内告知双方
    COMMITTEE = "committee"  # 人民调解：调解委员会调解
    WINDOW = "window"  # 司法确认：协议生效后三十日内共同申请
    CONFIRMING = "confirming"  # 司法确认：法院审查
    LITIGATING = "litigating"  # 诉讼引导：等待法院结果
    ENDED = "ended"


RUNG_OF: dict[Stage, Rung] = {
    Stage.RECONCILING: Rung.RECONCILIATION,
    Stage.MEDIATING: Rung.ADMINISTRATIVE,
    Stage.NOTIFYING: Rung.ADMINISTRATIVE,
    Stage.COMMITTEE: Rung.PEOPLE,
    Stage.WINDOW: Rung.JUDICIAL,
    Stage.CONFIRMING: Rung.JUDICIAL,
    Stage.LITIGATING: Rung.JUDICIAL,
}

# The stages that begin a new entry of a rung (a rung record); the others continue the
# record of the stage before them (a termination notice, the court's review).
OPENS_RUNG: frozenset[Stage] = frozenset(
    {Stage.RECONCILING, Stage.MEDIATING, Stage.COMMITTEE, Stage.WINDOW, Stage.LITIGATING}
)


class Consent(StrEnum):
    """What both parties must have agreed to, on record, before a move."""

    PEOPLE_MEDIATION = "people_mediation"  # 同意人民调解（人民调解法第十七条）
    JUDICIAL_CONFIRMATION = "judicial_confirmation"  # 共同申请司法确认（第三十三条）


class Party(StrEnum):
    COMPLAINANT = "complainant"  # 投诉人（消费者）
    RESPONDENT = "respondent"  # 被投诉人（经营者）


class Outcome(StrEnum):
    """How a whole ladder ended; the complaint's handling takes it as its outcome."""

    RECONCILED = "reconciled"  # 和解
    UNRESOLVED = "unresolved"  # 和解不成，转12315受理
    AGREEMENT = "agreement"  # 达成调解协议
    CONFIRMED = "confirmed"  # 调解协议经司法确认，可申请强制执行
    TERMINATED = "terminated"  # 终止调解，未达成协议
    JUDGMENT = "judgment"  # 法院判决
    COURT_MEDIATION = "court_mediation"  # 法院调解结案
    LAWSUIT_WITHDRAWN = "lawsuit_withdrawn"  # 撤诉
    NOT_SUED = "not_sued"  # 消费者未起诉
    RETURNED = "returned"  # 退回：非本单位管辖
    WITHDRAWN = "withdrawn"  # 投诉人撤回投诉
    STOPPED = "stopped"  # 投诉流程被中止（运维终止），调解随之结束


@dataclass(frozen=True)
class Move:
    to: Stage
    # The rung record's outcome, when the move ends (or decides) the rung being left.
    rung_outcome: str | None = None
    # The ladder's outcome, when the move ends it.
    outcome: Outcome | None = None
    consent: Consent | None = None


MOVES: dict[Stage, dict[str, Move]] = {
    Stage.RECONCILING: {
        "settled": Move(Stage.ENDED, "settled", Outcome.RECONCILED),
        "not_settled": Move(Stage.ENDED, "not_settled", Outcome.UNRESOLVED),
        "expired": Move(Stage.ENDED, "expired", Outcome.UNRESOLVED),
    },
    Stage.MEDIATING: {
        "agreement": Move(Stage.ENDED, "agreement", Outcome.AGREEMENT),
        "terminated": Move(Stage.NOTIFYING, "terminated"),
        # 自受理之日起四十五个工作日内未能达成调解协议：终止调解.
        "expired": Move(Stage.NOTIFYING, "terminated"),
        "return": Move(Stage.ENDED, "returned", Outcome.RETURNED),
    },
    Stage.NOTIFYING: {
        "end": Move(Stage.ENDED, outcome=Outcome.TERMINATED),
        "people": Move(Stage.COMMITTEE, consent=Consent.PEOPLE_MEDIATION),
        "litigation": Move(Stage.LITIGATING),
    },
    Stage.COMMITTEE: {
        "agreement": Move(Stage.WINDOW, "agreement"),
        "end": Move(Stage.ENDED, "failed", Outcome.TERMINATED),
        "litigation": Move(Stage.LITIGATING, "failed"),
    },
    Stage.WINDOW: {
        "applied": Move(Stage.CONFIRMING, consent=Consent.JUDICIAL_CONFIRMATION),
        "declined": Move(Stage.ENDED, "not_applied", Outcome.AGREEMENT),
        # The 30 days passed without a joint application: the agreement stands as a
        # contract, without a court's confirmation.
        "expired": Move(Stage.ENDED, "window_expired", Outcome.AGREEMENT),
    },
    Stage.CONFIRMING: {
        "confirmed": Move(Stage.ENDED, "confirmed", Outcome.CONFIRMED),
        # 确认无效：当事人可以通过人民调解方式变更原调解协议或者达成新的调解协议，也可以起诉.
        "people": Move(Stage.COMMITTEE, "invalid", consent=Consent.PEOPLE_MEDIATION),
        "litigation": Move(Stage.LITIGATING, "invalid"),
        "end": Move(Stage.ENDED, "invalid", Outcome.TERMINATED),
    },
    Stage.LITIGATING: {
        "judgment": Move(Stage.ENDED, "judgment", Outcome.JUDGMENT),
        "court_mediation": Move(Stage.ENDED, "court_mediation", Outcome.COURT_MEDIATION),
        "lawsuit_withdrawn": Move(Stage.ENDED, "lawsuit_withdrawn", Outcome.LAWSUIT_WITHDRAWN),
        "not_sued": Move(Stage.ENDED, "not_sued", Outcome.NOT_SUED),
        # 委托调解: the court hands the dispute back, to rung 1 or 2.
        "entrusted_administrative": Move(Stage.MEDIATING, "entrusted"),
        "entrusted_people": Move(Stage.COMMITTEE, "entrusted", consent=Consent.PEOPLE_MEDIATION),
    },
}

# The stages a deadline ends by itself when it passes (the others are chased instead).
EXPIRES: frozenset[Stage] = frozenset({s for s, moves in MOVES.items() if "expired" in moves})


class IllegalMove(Exception):
    def __init__(self, stage: Stage, decision: str) -> None:
        allowed = ", ".join(MOVES.get(stage, {})) or "nothing"
        super().__init__(
            f"at {stage.value} the ladder cannot take {decision!r}; it allows {allowed}"
        )
        self.stage = stage
        self.decision = decision


def move(stage: Stage, decision: str) -> Move:
    """The move ``decision`` makes at ``stage``; raises IllegalMove if there is none."""
    found = MOVES.get(stage, {}).get(decision)
    if found is None:
        raise IllegalMove(stage, decision)
    return found


def entry_stage(rung: Rung) -> Stage:
    """Where a ladder started at ``rung`` begins (a station's rung 0, a branch's rung 1)."""
    starts = {Rung.RECONCILIATION: Stage.RECONCILING, Rung.ADMINISTRATIVE: Stage.MEDIATING}
    if rung not in starts:
        raise ValueError(f"a ladder starts at reconciliation or administrative, not {rung}")
    return starts[rung]


@dataclass(frozen=True)
class ConsentRecord:
    party: Party
    given: bool
    on: str  # the date, as recorded (ISO)


@dataclass(frozen=True)
class ConsentGap:
    """A party whose consent a move lacks: none on record, or a refusal."""

    party: Party
    refused: bool
    reason: str


def consent_gap(purpose: Consent, records: list[ConsentRecord]) -> ConsentGap | None:
    """The first party whose consent to ``purpose`` is lacking, or None when both gave it.

    Each party's latest record counts: a refusal can be followed by a consent, and a
    consent withdrawn by a refusal.
    """
    latest: dict[Party, ConsentRecord] = {}
    for record in records:
        latest[record.party] = record
    for party in (Party.COMPLAINANT, Party.RESPONDENT):
        found = latest.get(party)
        if found is None:
            why = f"the {party.value}'s consent to {purpose.value} is not on record"
            return ConsentGap(party, False, why)
        if not found.given:
            why = f"the {party.value} refused {purpose.value} (recorded for {found.on})"
            return ConsentGap(party, True, why)
    return None


def missing_consent(purpose: Consent, records: list[ConsentRecord]) -> str | None:
    """Why ``purpose`` lacks the consent of both parties, or None when both gave it."""
    gap = consent_gap(purpose, records)
    return gap.reason if gap else None
