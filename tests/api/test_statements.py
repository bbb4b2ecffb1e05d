"""SQL statements per step (issue 14: "a step is one round trip and a handful of
statements"), counted as ``/metrics`` counts them, for a complaint's whole lifecycle. The
budgets are what the steps run today: a change that makes a step run more fails here, and
one that makes it run fewer lowers its budget. A count, not a timing: it does not depend
on the machine."""

from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.conftest import Stack, open_task, register
from tests.factories import eventually

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

# Statements of each step on SQLite (its BEGIN IMMEDIATE included), the context's reads
# (calendar and rule-set fingerprints) included.
BUDGET = {
    "open_triage": 16,
    # Acceptance also hands the mediation its first snapshot (one UPDATE: it is open).
    "triage": 37,
    # The mediation's last step, which concludes the complaint in the same transaction:
    # 38 + 25 when the two were steps of their own (before patch mediation-concludes-v1).
    "complete_task": 42,
    "callback": 28,
}


def counted() -> dict[tuple[str, str], float]:
    found: dict[tuple[str, str], float] = {}
    for family in REGISTRY.collect():
        if family.name == "weiquan_step_statements":
            for sample in family.samples:
                if sample.name.endswith(("_sum", "_count")):
                    found[(sample.name.rsplit("_", 1)[1], sample.labels["step"])] = sample.value
    return found


@SQLITE_ONLY
async def test_each_step_of_a_lifecycle_runs_within_its_statement_budget(stack: Stack) -> None:
    # The process reads the calendar and the rule sets once, at the first step after they
    # change: a first case warms that, so the budget counts a step as it usually runs.
    await open_task(stack, await register(stack), "triage", "operator")
    before = counted()
    case_no = await register(stack)
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("triage", "operator", {"decision": "accept", "unit": "guichi"}),
        ("handle", "guichi", {"outcome": "agreement", "summary": "和解", "reply": "已和解"}),
        ("callback", "operator", {"reached": True, "satisfaction": "satisfied"}),
    ]
    for kind, user, body in steps:
        task = await open_task(stack, case_no, kind, user)
        done = await stack.call("POST", f"/api/v1/tasks/{task['id']}/complete", user, json=body)
        assert done.status_code == 200, done.text

    async def closed() -> bool:
        case = (await stack.call("GET", f"/api/v1/cases/{case_no}", "operator")).json()
        return bool(case["status"] == "closed")

    await eventually(closed)
    after = counted()
    ran = {
        step: (
            after[("sum", step)] - before.get(("sum", step), 0),
            after[("count", step)] - before.get(("count", step), 0),
        )
        for step in BUDGET
    }
    assert all(times == 1 for _, times in ran.values()), ran  # each step once
    # The mediation's workflow starts with its first snapshot, and its last step concludes
    # the complaint: neither takes a step of its own any more.
    for gone in ("open_mediation", "conclude_mediation"):
        assert after.get(("count", gone), 0) == before.get(("count", gone), 0), gone
    over = {step: n for step, (n, _) in ran.items() if n > BUDGET[step]}
    assert not over, f"over budget: {over} (budget {BUDGET})"
    assert sum(n for n, _ in ran.values()) <= sum(BUDGET.values())
