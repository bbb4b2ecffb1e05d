"""The launcher of ``make run`` survives a crash of one of its three children.

Real processes only: each test starts the stack as ``make run`` does, kills a child with
SIGKILL and checks what a user would notice: the launcher stays up, the child comes back
and the service works again; or, when a child keeps failing, the launcher gives up with
the child's log; and Ctrl+C still stops everything in order.
"""

import os
import signal
import socket
import time

import httpx

from tests.e2e.conftest import Client, Embedded, wait_until
from tests.factories import complaint


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def restarted(embedded: Embedded, name: str, old_pid: int) -> int:
    """Waits until the launcher runs a new ``name`` child and returns its pid."""
    pid: int = wait_until(
        lambda: (pid := embedded.children().get(name)) not in (None, old_pid) and pid,
        60,
        f"a new {name} process",
    )
    return pid


def test_a_killed_worker_is_restarted_and_runs_workflows(embedded: Embedded) -> None:
    embedded.start()
    before = embedded.children()
    assert set(before) == {"temporal", "worker", "api"}, before

    os.kill(before["worker"], signal.SIGKILL)
    new_worker = restarted(embedded, "worker", before["worker"])

    assert embedded.proc is not None and embedded.proc.poll() is None
    assert "worker was killed by SIGKILL unexpectedly; restarting it in" in embedded.output()
    assert f"restarted worker (pid {new_worker})" in embedded.output()
    worker_log = (embedded.data_dir / "worker.log").read_text()
    assert "run_embedded: worker was killed by SIGKILL unexpectedly" in worker_log
    after = embedded.children()
    assert (after["temporal"], after["api"]) == (before["temporal"], before["api"])

    # The new worker polls once it logs this line again (the first was the old worker's).
    wait_until(
        lambda: (embedded.data_dir / "worker.log").read_text().count("worker on task queue") == 2,
        60,
        "the restarted worker polling",
    )
    client = Client(embedded.base)
    case = client.post("/cases", "operator", json=complaint(client_ref="restart-worker"))
    client.task(case["case_no"], "triage", "operator")
    embedded.stop()


def test_a_killed_api_answers_again_on_its_port(embedded: Embedded) -> None:
    embedded.start()
    before = embedded.children()

    os.kill(before["api"], signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: not healthy(embedded.base), 10, "the API down")
    wait_until(lambda: healthy(embedded.base), 60, "/healthz answering 200 again")
    print(f"\nAPI healthy again {time.monotonic() - killed:.1f} s after kill -9")

    assert embedded.children()["api"] != before["api"]
    assert "api was killed by SIGKILL unexpectedly; restarting it in" in embedded.output()
    assert "run_embedded: api was killed by SIGKILL" in (embedded.data_dir / "api.log").read_text()
    client = Client(embedded.base)
    assert client.get("/tasks", "operator", params={"status": "open"})["data"] == []
    embedded.stop()


def test_a_killed_temporal_comes_back_with_its_state(embedded: Embedded) -> None:
    embedded.start()
    client = Client(embedded.base)
    case_no = client.post("/cases", "operator", json=complaint(client_ref="restart-temporal"))[
        "case_no"
    ]
    triage = client.task(case_no, "triage", "operator")
    before = embedded.children()

    os.kill(before["temporal"], signal.SIGKILL)
    killed = time.monotonic()
    wait_until(
        lambda: "Temporal answers again on" in embedded.output(), 30, "Temporal answering again"
    )
    wait_until(lambda: healthy(embedded.base), 60, "/healthz answering 200 again")
    print(f"\nTemporal and the API healthy again {time.monotonic() - killed:.1f} s after kill -9")

    after = embedded.children()
    assert after["temporal"] != before["temporal"]
    # The worker and the API reconnect by themselves: neither was restarted.
    assert (after["worker"], after["api"]) == (before["worker"], before["api"])
    assert client.get(f"/cases/{case_no}", "operator")["status"] == "triage"
    # The case's workflow survived in temporal.db and carries on.
    client.post(
        f"/tasks/{triage['id']}/complete", "operator", json={"decision": "accept", "unit": "guichi"}
    )
    assert client.get(f"/cases/{case_no}", "guichi")["status"] == "handling"
    client.task(case_no, "handle", "guichi")
    embedded.stop()


def test_a_child_that_keeps_failing_makes_the_launcher_give_up(embedded: Embedded) -> None:
    embedded.env.update(
        {
            "WEIQUAN_RESTART_MAX": "2",
            "WEIQUAN_RESTART_WINDOW_SECONDS": "60",
            "WEIQUAN_RESTART_BACKOFF_SECONDS": "0.1",
            "WEIQUAN_RESTART_BACKOFF_MAX_SECONDS": "0.2",
        }
    )
    embedded.start()
    assert embedded.proc is not None
    with socket.socket() as squatter:
        # Something else takes the API's port the moment the API dies: every restart
        # fails to bind it.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        os.kill(embedded.children()["api"], signal.SIGKILL)

        def bound() -> bool:
            try:
                squatter.bind(("127.0.0.1", embedded.api_port))
            except OSError:
                return False
            return True

        wait_until(bound, 5, "the API's port free")
        squatter.listen()
        code = embedded.proc.wait(timeout=120)
    embedded.proc = None

    output = embedded.output()
    assert code == 1, output
    assert output.count("restarted api") == 2, output
    # The API exits 3 when it cannot bind, as uvicorn does.
    assert "api exited (3) unexpectedly, after 2 restart(s) within 60 s: giving up" in output
    error = output[output.index("error: api exited") :]
    assert f"Last lines of {embedded.data_dir / 'api.log'}:" in error
    assert "address already in use" in error
    assert output.index("stopping worker") < output.index("stopping temporal"), output
    assert embedded.leftovers() == []


def test_ctrl_c_during_a_restart_backoff_stops_everything(embedded: Embedded) -> None:
    embedded.env["WEIQUAN_RESTART_BACKOFF_SECONDS"] = "60"
    embedded.env["WEIQUAN_RESTART_BACKOFF_MAX_SECONDS"] = "60"
    embedded.start()
    assert embedded.proc is not None

    os.kill(embedded.children()["worker"], signal.SIGKILL)
    wait_until(
        lambda: (
            "worker was killed by SIGKILL unexpectedly; restarting it in 60 s" in embedded.output()
        ),
        10,
        "the launcher waiting to restart the worker",
    )
    assert healthy(embedded.base)  # the others keep running meanwhile
    embedded.proc.send_signal(signal.SIGINT)
    code = embedded.proc.wait(timeout=30)
    embedded.proc = None

    output = embedded.output()
    assert code == 0, output
    stopping = output.split("shutting down")[-1]
    assert "stopping worker" not in stopping and "restarted worker" not in output
    assert stopping.index("stopping api") < stopping.index("stopping temporal")
    assert stopping.rstrip().endswith("stopped.")
    assert embedded.leftovers() == []
