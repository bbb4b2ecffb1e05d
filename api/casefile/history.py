"""The append-only event log of a case, chained by SHA-256 so tampering shows."""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from api.casefile.models import Case, Event
from api.db import lock_for_write, utcnow

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
    last = session.exec(
        select(Event).where(Event.case_no == case_no).order_by(col(Event.seq).desc()).limit(1)
    ).first()
    seq = last.seq + 1 if last else 1
    prev_hash = last.hash if last else GENESIS
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
    return event


def lock_case(session: Session, case_no: str) -> None:
    """Takes the case's lock for the rest of the transaction (once per transaction): the
    next event's number is read and written by one writer at a time."""
    transaction = session.get_transaction()
    marker = session.info.get("locked_cases")
    if transaction is not None and marker is not None and marker[0] is transaction:
        if case_no in marker[1]:
            return
    else:
        marker = None
    lock_for_write(session)
    session.exec(select(Case.id).where(Case.case_no == case_no).with_for_update()).first()
    transaction = session.get_transaction()
    if marker is None:
        session.info["locked_cases"] = (transaction, {case_no})
    else:
        marker[1].add(case_no)


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
    last = session.exec(
        select(Event.seq).where(Event.case_no == case_no).order_by(col(Event.seq).desc()).limit(1)
    ).first()
    return last or 0
