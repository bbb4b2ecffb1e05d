"""A case's record verifies, and tampering with it does not, on SQLite and PostgreSQL.

The tests change the database directly, as an attacker holding it would, after dropping
the triggers that keep the history append-only.
"""

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from api.audit.keys import signing_key
from api.casefile.history import GENESIS, digest
from api.casefile.models import Event, StepRecord
from tests.conftest import Stack, open_task, register


async def walk_to_closed(stack: Stack) -> str:
    """A complaint accepted, mediated to an agreement, called back: closed."""
    case_no = await register(stack)
    steps = [
        ("triage", "operator", {"decision": "accept", "unit": "guichi"}),
        (
            "handle",
            "guichi",
            {"outcome": "agreement", "summary": "退货", "amount_recovered": 100, "reply": "已退"},
        ),
        ("callback", "operator", {"reached": True, "satisfaction": "satisfied"}),
    ]
    for kind, who, body in steps:
        task = await open_task(stack, case_no, kind, who)
        done = await stack.call("POST", f"/api/v1/tasks/{task['id']}/complete", who, json=body)
        assert done.status_code == 200, done.text
    case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
    assert case["status"] == "closed"
    return case_no


async def verify(stack: Stack, case_no: str, as_: str = "auditor") -> dict[str, Any]:
    response = await stack.call("GET", f"/api/v1/cases/{case_no}/history/verify", as_)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_walked_complaint_verifies_against_its_temporal_histories(stack: Stack) -> None:
    case_no = await walk_to_closed(stack)
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()[
        "events"
    ]
    assert events[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(events, events[1:], strict=False))

    answer = await verify(stack, case_no)
    assert answer["ok"] is True, answer
    assert answer["events"] == len(events)
    assert answer["temporal_events"] > 0
    assert sorted(answer["workflows"]) == [f"complaint-{case_no}", f"mediation-{case_no}-1"]
    assert answer["first_bad_seq"] is None

    assert (await verify(stack, case_no, "supervisor"))["ok"] is True
    handler = await stack.call("GET", f"/api/v1/cases/{case_no}/history/verify", "guichi")
    assert handler.status_code == 403


async def test_the_database_refuses_to_change_or_remove_an_event(stack: Stack) -> None:
    case_no = await walk_to_closed(stack)
    for statement in (
        "UPDATE event SET actor = 'someone' WHERE case_no = :no AND seq = 2",
        "DELETE FROM event WHERE case_no = :no AND seq = 2",
    ):
        with stack.db() as session, pytest.raises(DBAPIError, match="append-only"):
            session.connection().execute(text(statement), {"no": case_no})
    assert (await verify(stack, case_no))["ok"] is True


def drop_triggers(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("DROP TRIGGER event_append_only ON event"))
    else:
        session.connection().execute(text("DROP TRIGGER event_no_update"))
        session.connection().execute(text("DROP TRIGGER event_no_delete"))
    session.commit()


def log(session: Session, case_no: str) -> list[Event]:
    return list(
        session.exec(select(Event).where(Event.case_no == case_no).order_by(col(Event.seq)))
    )


def change_data(session: Session, case_no: str) -> int:
    event = log(session, case_no)[4]
    event.data = {**event.data, "unit": "dongzhi"}
    session.add(event)
    return event.seq


def delete_one(session: Session, case_no: str) -> int:
    event = log(session, case_no)[5]
    session.delete(event)
    return event.seq


def swap_two(session: Session, case_no: str) -> int:
    events = log(session, case_no)
    first, second = events[3], events[7]
    seqs = first.seq, second.seq
    first.seq = -1
    session.add(first)
    session.flush()
    second.seq = seqs[0]
    session.add(second)
    session.flush()
    first.seq = seqs[1]
    session.add(first)
    return seqs[0]


def insert_one(session: Session, case_no: str) -> int:
    """A well-formed event put in at 6, its hash computed, the later ones renumbered."""
    events = log(session, case_no)
    for event in reversed(events[5:]):
        event.seq += 1
        session.add(event)
        session.flush()
    before = events[4]
    data = {"note": "看似正常的一条"}
    forged = Event(
        case_no=case_no,
        seq=6,
        at=before.at,
        actor="operator",
        type="urged",
        data=data,
        prev_hash=before.hash,
        hash=digest(before.hash, 6, before.at, "operator", "urged", data),
    )
    session.add(forged)
    return 6


@pytest.mark.parametrize(
    "tamper",
    [change_data, delete_one, swap_two, insert_one],
    ids=["changed", "deleted", "swapped", "inserted"],
)
async def test_a_tampered_log_is_caught_at_the_right_event(
    stack: Stack, tamper: Callable[[Session, str], int]
) -> None:
    case_no = await walk_to_closed(stack)
    with stack.db() as session:
        drop_triggers(session)
        seq = tamper(session, case_no)
        session.commit()
    answer = await verify(stack, case_no)
    assert answer["ok"] is False, answer
    assert answer["first_bad_seq"] == seq, answer
    assert answer["reason"]


async def test_a_step_removed_and_the_chain_rebuilt_is_caught_by_temporal(stack: Stack) -> None:
    """The forger removes a whole step (its record and its events) and recomputes every
    hash after it: the chain is whole again, but the workflow's history still has the
    step."""
    case_no = await walk_to_closed(stack)
    with stack.db() as session:
        drop_triggers(session)
        callback = session.exec(
            select(StepRecord).where(
                StepRecord.case_no == case_no, col(StepRecord.key).endswith(":callback")
            )
        ).one()
        first, last = callback.first_seq, callback.last_seq
        assert first is not None and last is not None and last >= first
        session.delete(callback)
        events = log(session, case_no)
        for event in events:
            if first <= event.seq <= last:
                session.delete(event)
        session.flush()
        prev = next(e.hash for e in events if e.seq == first - 1)
        for event in [e for e in events if e.seq > last]:
            event.seq -= last - first + 1
            event.prev_hash = prev
            event.hash = digest(prev, event.seq, event.at, event.actor, event.type, event.data)
            prev = event.hash
            session.add(event)
            session.flush()
        session.commit()
        assert session.exec(select(Event).where(Event.case_no == case_no)).first() is not None

    answer = await verify(stack, case_no)
    assert answer["ok"] is False, answer
    assert answer["first_bad_seq"] == first, answer
    assert "callback" in answer["reason"]


async def test_the_public_key_is_served_to_anyone_and_verifies_the_keys_signatures(
    stack: Stack,
) -> None:
    response = await stack.api.get("/api/v1/audit/public-key")  # no sign-in
    assert response.status_code == 200, response.text
    served = response.json()
    assert served["algorithm"] == "Ed25519"
    public = serialization.load_pem_public_key(served["pem"].encode())
    assert isinstance(public, Ed25519PublicKey)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert served["fingerprint"] == hashlib.sha256(raw).hexdigest()
    public.verify(signing_key(stack.settings).sign(b"checkpoint"), b"checkpoint")
