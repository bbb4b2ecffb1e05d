"""The append-only event log of a case, chained by SHA-256 so tampering shows."""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from api.casefile.models import Case, Event
from api.db import lock_for_write, transaction_memo, utcnow

GENESIS = "0" * 64

# The database refuses to change or remove an event (migration 0009): the log only grows.
# A case whose workflow never started may still be discarded with its events.


def digest(prev_hash: str, seq: int, at: datetime, actor: str, type_: str, data: Any) -> str:
    payload = json.dumps(
        [prev_hash, seq, at.isoformat(), actor, type_, data],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(
    *, session: Session, case_no: str, actor: str, type: str, data: dict[str, Any] | None = None
) -> Event:
    """Adds one event to the case's log, in the caller's transaction."""
    lock_case(session, case_no)
    last_seq, prev_hash = _head(session, case_no)
    seq = last_seq + 1
    at = utcnow()
    payload = json.loads(json.dumps(data or {}, ensure_ascii=False, default=str))
    event = Event(
        case_no=case_no,
        seq=seq,
        at=at,
        actor=actor,
        type=type,
        data=payload,
        prev_hash=prev_hash,
        hash=digest(prev_hash, seq, at, actor, type, payload),
    )
    session.add(event)
    session.flush()
    transaction_memo(session, "log_heads")[case_no] = (seq, event.hash)
    return event


def _head(session: Session, case_no: str) -> tuple[int, str]:
    """The case's last event (number, hash): read once per transaction, then the one this
    transaction appended (the case's lock keeps the log ours meanwhile)."""
    heads = transaction_memo(session, "log_heads")
    if case_no not in heads:
        last = session.exec(
            select(Event.seq, Event.hash)
            .where(Event.case_no == case_no)
            .order_by(col(Event.seq).desc())
            .limit(1)
        ).first()
        heads[case_no] = (last[0], last[1]) if last else (0, GENESIS)
    head: tuple[int, str] = heads[case_no]
    return head


def lock_case(session: Session, case_no: str) -> Case | None:
    """Takes the case's lock for the rest of the transaction (once per transaction): the
    next event's number is read and written by one writer at a time. The case's row, read
    with its lock (None: no such case)."""
    locked = transaction_memo(session, "locked_cases")
    if case_no in locked:
        found: Case | None = locked[case_no]
        return found
    lock_for_write(session)
    case = session.exec(select(Case).where(Case.case_no == case_no).with_for_update()).first()
    transaction_memo(session, "locked_cases")[case_no] = case  # the transaction began here
    return case


def locked(session: Session, case_no: str) -> bool:
    """Whether this transaction holds the case's lock (``lock_case``): nobody else changes
    what is the case's until it ends."""
    return case_no in transaction_memo(session, "locked_cases")


def events(*, session: Session, case_no: str) -> list[Event]:
    return list(
        session.exec(select(Event).where(Event.case_no == case_no).order_by(col(Event.seq))).all()
    )


@dataclass(frozen=True)
class Break:
    """Where a case's chain first breaks, and how."""

    seq: int
    reason: str


def broken_link(events: Sequence[Event]) -> Break | None:
    """The first event of the log (ordered by ``seq``) whose place, link or hash is wrong:
    a changed event fails its hash, a removed one leaves a gap, a moved or inserted one
    breaks the link to the event before it."""
    before, prev_hash = GENESIS, GENESIS  # the hashes of the two events before this one
    for expected, event in enumerate(events, start=1):
        if event.seq != expected:
            missing = min(event.seq, expected)
            return Break(missing, f"event {expected} is missing: the log goes on at {event.seq}")
        if event.prev_hash != prev_hash:
            if expected > 1 and event.prev_hash == before:
                # It follows the event before the last: the last one was put in between.
                return Break(event.seq - 1, f"event {event.seq - 1} was inserted afterwards")
            return Break(event.seq, f"event {event.seq} does not follow event {event.seq - 1}")
        recomputed = digest(prev_hash, event.seq, event.at, event.actor, event.type, event.data)
        if event.hash != recomputed:
            return Break(event.seq, f"event {event.seq} was changed after it was written")
        before, prev_hash = prev_hash, event.hash
    return None


def head(*, session: Session, case_no: str) -> int:
    """The number of the case's last event (0 for none)."""
    if locked(session, case_no):  # ours until the commit
        return _head(session, case_no)[0]
    found = session.exec(
        select(Event.seq).where(Event.case_no == case_no).order_by(col(Event.seq).desc()).limit(1)
    ).first()
    return found or 0
