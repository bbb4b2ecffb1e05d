"""Signed checkpoints: the heads of the case logs in a Merkle tree whose root the audit key
signs, on SQLite and PostgreSQL. Even a forger who rewrites an event and recomputes the
whole chain after it is caught, since the key is not in the database."""

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pymerkle import ConsistencyProof, InclusionProof, verify_consistency, verify_inclusion
from pymerkle.hasher import MerkleHasher
from sqlmodel import col, select
from temporalio.client import ScheduleCalendarSpec

from api.audit.models import AuditCheckpoint
from api.casefile.history import digest
from api.casefile.models import Event
from scripts import verify_offline
from tests.api.test_verify import drop_triggers, log, verify, walk_to_closed
from tests.conftest import Stack, register
from worker import ensure_checkpoint_schedule
from workflows.audit import SCHEDULE_ID, AuditCheckpointWorkflow
from workflows.messages import CheckpointInput


async def checkpoint(stack: Stack) -> dict[str, Any]:
    taken = await stack.call("POST", "/api/v1/audit/checkpoints", "admin")
    assert taken.status_code == 201, taken.text
    body: dict[str, Any] = taken.json()
    return body


async def public_key(stack: Stack) -> Ed25519PublicKey:
    pem = (await stack.api.get("/api/v1/audit/public-key")).json()["pem"]
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, Ed25519PublicKey)
    return key


def leaf_hash(entry: str) -> bytes:
    return bytes(MerkleHasher("sha256", security=True).hash_buff(entry.encode()))


async def test_a_checkpoint_signs_every_head_and_proves_each_case_is_in_it(
    stack: Stack,
) -> None:
    case_no = await walk_to_closed(stack)
    taken = await checkpoint(stack)
    assert taken["tree_size"] >= 1
    key = await public_key(stack)
    key.verify(bytes.fromhex(taken["signature"]), taken["message"].encode())
    listed = (await stack.call("GET", "/api/v1/audit/checkpoints", "auditor")).json()
    assert listed["data"][0]["id"] == taken["id"]

    proof = await stack.call(
        "GET",
        f"/api/v1/audit/checkpoints/{taken['id']}/proof",
        "auditor",
        params={"case_no": case_no},
    )
    assert proof.status_code == 200, proof.text
    body = proof.json()
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()[
        "events"
    ]
    assert (body["leaf"]["seq"], body["leaf"]["head"]) == (events[-1]["seq"], events[-1]["hash"])
    verify_inclusion(
        leaf_hash(body["leaf"]["entry"]),
        bytes.fromhex(taken["root"]),
        InclusionProof.deserialize(body["proof"]),
    )

    answer = await verify(stack, case_no)
    assert answer["ok"] is True, answer
    assert answer["checkpoint"]["id"] == taken["id"]
    assert answer["checkpoint"]["head"] == events[-1]["hash"]


async def test_a_later_checkpoint_proves_it_kept_everything_the_earlier_covered(
    stack: Stack,
) -> None:
    await register(stack)
    first = await checkpoint(stack)
    await register(stack)
    second = await checkpoint(stack)
    assert second["tree_size"] > first["tree_size"]
    answer = await stack.call(
        "GET",
        f"/api/v1/audit/checkpoints/{second['id']}/consistency",
        "auditor",
        params={"from": first["id"]},
    )
    assert answer.status_code == 200, answer.text
    verify_consistency(
        bytes.fromhex(first["root"]),
        bytes.fromhex(second["root"]),
        ConsistencyProof.deserialize(answer.json()["proof"]),
    )
    backwards = await stack.call(
        "GET",
        f"/api/v1/audit/checkpoints/{first['id']}/consistency",
        "auditor",
        params={"from": second["id"]},
    )
    assert backwards.status_code == 422


async def test_the_perfect_forger_is_caught_by_the_signed_checkpoint(stack: Stack) -> None:
    """The forger changes a past event (the unit it was accepted to) and recomputes every
    hash after it: the chain is whole, and Temporal knows no event data. The head the key
    signed is gone, and only the key could sign a new one."""
    case_no = await walk_to_closed(stack)
    await checkpoint(stack)
    with stack.db() as session:
        drop_triggers(session)
        events = log(session, case_no)
        accepted = next(e for e in events if e.type == "accepted")
        accepted.data = {**accepted.data, "unit": "dongzhi"}
        prev = next(e.hash for e in events if e.seq == accepted.seq - 1)
        for event in [e for e in events if e.seq >= accepted.seq]:
            event.prev_hash = prev
            event.hash = digest(prev, event.seq, event.at, event.actor, event.type, event.data)
            prev = event.hash
            session.add(event)
        session.commit()
        last = session.exec(
            select(Event).where(Event.case_no == case_no).order_by(col(Event.seq).desc())
        ).first()
        assert last is not None
    answer = await verify(stack, case_no)
    assert answer["ok"] is False, answer
    assert answer["first_bad_seq"] == last.seq
    assert "rewritten" in answer["reason"]


async def test_the_root_is_in_the_checkpoint_workflows_history_too(stack: Stack) -> None:
    await register(stack)
    key = f"test-{uuid.uuid4().hex}"
    result = await stack.client.execute_workflow(
        AuditCheckpointWorkflow.run,
        CheckpointInput(key=key),
        id=f"{SCHEDULE_ID}-{key}",
        task_queue=stack.settings.task_queue,
    )
    again = await stack.call("POST", "/internal/v1/audit/checkpoints", "admin")
    assert again.status_code == 401  # the worker's route only
    with stack.db() as session:
        stored = session.exec(select(AuditCheckpoint).where(AuditCheckpoint.key == key)).one()
    assert (result.id, result.root, result.signature) == (stored.id, stored.root, stored.signature)


async def test_the_daily_schedule_follows_the_configured_hour(stack: Stack) -> None:
    await ensure_checkpoint_schedule(stack.client, stack.settings)
    await ensure_checkpoint_schedule(stack.client, stack.settings)  # again: updated, not doubled
    handle = stack.client.get_schedule_handle(SCHEDULE_ID)
    try:
        described = await handle.describe()
        spec = described.schedule.spec
        assert spec.time_zone_name == "Asia/Shanghai"
        (calendar,) = spec.calendars
        assert isinstance(calendar, ScheduleCalendarSpec)
        assert calendar.hour[0].start == stack.settings.audit_checkpoint_hour
        assert calendar.minute[0].start == stack.settings.audit_checkpoint_minute
        assert described.schedule.policy.catchup_window == timedelta(days=1)
    finally:
        await handle.delete()


async def test_an_outside_auditor_verifies_a_case_offline_with_the_files_alone(
    stack: Stack, tmp_path: Path
) -> None:
    case_no = await walk_to_closed(stack)
    taken = await checkpoint(stack)
    files = {
        "key.pem": (await stack.api.get("/api/v1/audit/public-key")).json()["pem"],
        "checkpoint.json": json.dumps(taken),
        "proof.json": (
            await stack.call(
                "GET",
                f"/api/v1/audit/checkpoints/{taken['id']}/proof",
                "auditor",
                params={"case_no": case_no},
            )
        ).text,
        "history.json": (
            await stack.call("GET", f"/api/v1/cases/{case_no}/history", "supervisor")
        ).text,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    argv = [
        "--public-key", str(tmp_path / "key.pem"),
        "--checkpoint", str(tmp_path / "checkpoint.json"),
        "--proof", str(tmp_path / "proof.json"),
        "--history", str(tmp_path / "history.json"),
    ]  # fmt: skip
    assert verify_offline.main(argv) == 0

    history = json.loads(files["history.json"])
    history["events"][3]["data"]["unit"] = "dongzhi"
    (tmp_path / "history.json").write_text(json.dumps(history), encoding="utf-8")
    assert verify_offline.main(argv) == 1
