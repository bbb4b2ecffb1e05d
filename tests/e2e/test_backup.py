"""``make backup`` while the embedded default runs and cases move (issue 14, "Backup and
restore"): the copy restores into a new data dir, a stack started there has every case
of the copy, and each of them goes on to closed."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import ROOT, Client, Embedded
from tests.factories import complaint

STEPS: dict[str, tuple[str, dict[str, Any]]] = {
    "triage": ("operator", {"decision": "accept", "unit": "guichi"}),
    "handle": ("guichi", {"outcome": "agreement", "summary": "双方和解", "reply": "已和解"}),
    "callback": ("operator", {"reached": True, "satisfaction": "satisfied"}),
}


def advance(client: Client, case_no: str) -> bool:
    """Completes the case's open task, if it has one; False when it has none now."""
    for kind, (user, body) in STEPS.items():
        found = client.get(
            "/tasks", user, params={"case_no": case_no, "kind": kind, "status": "open"}
        )["data"]
        if found:
            done = client.http.post(
                f"/tasks/{found[0]['id']}/complete", headers=client.as_(user), json=body
            )
            # 409: the task was done meanwhile (the same step, applied once), or the case's
            # workflow is behind its record until the repair sends the decision again;
            # 503 start_pending: its workflow is not started yet, the repair starts it.
            assert done.status_code in (200, 409) or (
                done.status_code == 503 and done.json()["code"] == "case.start_pending"
            ), done.text
            return True
    return False


def keep_moving(base: str, stop: threading.Event, made: list[str]) -> None:
    """Registers cases and moves the open ones along until told to stop."""
    client = Client(base)
    while not stop.is_set():
        made.append(client.post("/cases", "operator", json=complaint())["case_no"])
        for case_no in made[-3:]:
            advance(client, case_no)


def backup_script(*args: str, env: dict[str, str] | None = None) -> Any:
    """``scripts/backup.py`` run as ``make backup`` runs it."""
    return subprocess.run(
        [sys.executable, "scripts/backup.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def statuses(client: Client) -> dict[str, str]:
    rows = client.get("/cases", "supervisor", params={"limit": 500})["data"]
    return {row["case_no"]: row["status"] for row in rows}


def test_a_backup_taken_while_cases_move_restores_and_every_case_closes(
    embedded: Embedded, tmp_path: Path
) -> None:
    embedded.start()
    client = Client(embedded.base)
    settled = client.post("/cases", "operator", json=complaint())["case_no"]
    deadline = time.monotonic() + 60
    while client.get(f"/cases/{settled}", "operator")["status"] != "closed":
        assert time.monotonic() < deadline, "the first case did not close"
        advance(client, settled) or time.sleep(0.1)
    stop, made = threading.Event(), [settled]
    mover = threading.Thread(target=keep_moving, args=(embedded.base, stop, made))
    mover.start()
    time.sleep(4)  # cases at every stage, and steps in flight when the copy is taken
    taken = backup_script("--to", str(tmp_path / "backups"), env=embedded.env)
    time.sleep(2)
    stop.set()
    mover.join(timeout=60)
    assert taken.returncode == 0, taken.stderr
    (copy,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((copy / "backup.json").read_text())
    assert {"temporal.db", "weiquan.db", "secrets.json"} <= set(manifest["files"])
    original = statuses(client)
    embedded.stop()

    restored_dir = tmp_path / "restored"
    again = backup_script("--restore", str(copy), str(restored_dir))
    assert again.returncode == 0, again.stderr
    refused = backup_script("--restore", str(copy), str(restored_dir))
    assert refused.returncode != 0 and "not empty" in refused.stderr

    restored = Embedded(restored_dir)
    # A case registered but not started in Temporal's copy is started by the repair; a
    # decision whose step the application's copy holds and Temporal's not (a local step
    # done just before the copy) is sent again by it.
    restored.env |= {
        "WEIQUAN_REGISTRATION_REPAIR_AFTER_SECONDS": "1",
        "WEIQUAN_REGISTRATION_REPAIR_EVERY_SECONDS": "1",
        "WEIQUAN_DECISION_REPAIR_AFTER_SECONDS": "1",
    }
    try:
        restored.start()
        there = Client(restored.base)
        cases = statuses(there)
        assert settled in cases and cases[settled] == "closed"
        assert set(cases) <= set(original) and len(cases) >= 3, (cases, original)
        assert set(cases) != {settled}, "the copy holds the cases moving when it was taken"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            cases = statuses(there)
            moving = [no for no, status in cases.items() if status != "closed"]
            if not moving:
                break
            for case_no in moving:
                advance(there, case_no)
            time.sleep(0.3)
        assert all(status == "closed" for status in cases.values()), cases
    finally:
        if restored.proc is not None:
            restored.stop()
