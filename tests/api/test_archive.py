"""A closed case's Temporal histories outlive the engine's retention: archived into the
application's store with their hash on the case's log, then verified and replayed from
the archive once Temporal has deleted them (``temporal workflow delete``)."""

import asyncio
import subprocess

from sqlalchemy import text
from temporalio.service import RPCError, RPCStatusCode

from scripts import replay
from tests.api.test_verify import walk_to_closed
from tests.conftest import SERVICE_TOKEN, Stack, _binary
from tests.factories import eventually
from workflows.complaint import workflow_id
from workflows.mediation import mediation_id


async def archive(stack: Stack) -> dict[str, int]:
    response = await stack.api.post(
        "/internal/v1/audit/archive", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def closed_workflows(stack: Stack, case_no: str) -> list[str]:
    """The case's workflows, once each has closed."""
    ids = [workflow_id(case_no), mediation_id(case_no, 1)]

    async def all_closed() -> bool:
        for each in ids:
            described = await stack.client.get_workflow_handle(each).describe()
            if described.status is None or described.status.name == "RUNNING":
                return False
        return True

    await eventually(all_closed)
    return ids


async def delete(stack: Stack, workflow: str) -> None:
    """Deletes the workflow's history from Temporal, as its retention would (the dev
    server removes it about half a minute later)."""
    address = stack.client.service_client.config.target_host
    done = await asyncio.to_thread(
        subprocess.run,
        [_binary("temporal"), "workflow", "delete", "--yes", "--address", address, "-w", workflow],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr

    async def gone() -> bool:
        try:
            await stack.client.get_workflow_handle(workflow).fetch_history()
        except RPCError as error:
            return error.status == RPCStatusCode.NOT_FOUND
        return False

    await eventually(gone, timeout=120, interval=1)


async def test_a_closed_case_is_verified_and_replayed_from_its_archive(stack: Stack) -> None:
    case_no = await walk_to_closed(stack)
    ids = await closed_workflows(stack, case_no)

    assert (await archive(stack))["cases"] >= 1
    assert (await archive(stack))["cases"] == 0  # once only
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    archived = [e for e in events["events"] if e["type"] == "history_archived"]
    assert sorted(e["data"]["workflow_id"] for e in archived) == sorted(ids)
    assert all(len(e["data"]["sha256"]) == 64 and e["data"]["events"] > 0 for e in archived)

    await asyncio.gather(*(delete(stack, each) for each in ids))

    verified = await stack.call("GET", f"/api/v1/cases/{case_no}/history/verify", "auditor")
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["ok"] is True, body
    assert sorted(body["archived"]) == sorted(ids)
    assert body["unavailable"] == []
    assert body["temporal_events"] > 0

    # Temporal has nothing left of the case: the replay reads the archive.
    assert [
        h async for h in replay.from_temporal(stack.client, replay.query_for(cases=[case_no]))
    ] == []
    histories = await asyncio.to_thread(replay.from_archive, stack.engine, cases=[case_no])
    assert sorted(h.workflow_id for h in histories) == sorted(ids)
    outcome = await replay.replay(histories)
    assert outcome.replayed == 2
    assert outcome.divergences == []

    # An archive altered afterwards no longer has the hash the log recorded.
    with stack.db() as session:
        session.execute(
            text("UPDATE auditarchive SET history = history || ' ' WHERE workflow_id = :w"),
            {"w": ids[1]},
        )
        session.commit()
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()
    seq = next(
        e["seq"]
        for e in events["events"]
        if e["type"] == "history_archived" and e["data"]["workflow_id"] == ids[1]
    )

    verified = await stack.call("GET", f"/api/v1/cases/{case_no}/history/verify", "auditor")
    body = verified.json()
    assert body["ok"] is False
    assert body["first_bad_seq"] == seq
    assert ids[1] in body["reason"]
