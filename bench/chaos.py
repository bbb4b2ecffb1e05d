"""Chaos: complaint lifecycles over HTTP while the embedded stack's parts are killed.

Starts ``scripts/run_embedded.py`` (what ``make run`` starts) headless in a temporary data
dir, and drives N complaints from ``POST /cases`` to ``closed`` (triage accept → handling
agreement → callback reached) with C in flight, as a careful client would: a registration
carries its ``client_ref``, and a request that got no answer or a 503 is sent again. Meanwhile
it ``kill -9``s the worker every few seconds, the API once, and the Temporal server once
while completions are in flight; the launcher restarts each. Then it counts the cases
closed, stuck (and at which step), duplicate tasks, duplicate events and open incidents.

    .venv/bin/python bench/chaos.py                      # 200 lifecycles, 16 in flight
    .venv/bin/python bench/chaos.py --cases 24 --concurrency 8 --kill-every 4   # short

Exit status 0 when every case is closed with no duplicate, 1 otherwise. Every wait is
bounded (``--timeout`` for the whole run). tests/e2e/test_chaos.py runs a short form.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.lifecycle import CALLBACK, HANDLE, TRIAGE, Stack  # noqa: E402
from tests.factories import complaint  # noqa: E402

API = "/api/v1"
STEPS = (
    ("triage", "operator", TRIAGE),
    ("handle", "guichi", HANDLE),
    ("callback", "operator", CALLBACK),
)
# What one clean lifecycle leaves: one task of each kind, each opened and completed once.
EXPECTED_TASKS = {"triage": 1, "handle": 1, "callback": 1}
PAUSE = 0.5  # between attempts of a request that got no answer


@dataclass
class Result:
    cases: dict[str, str] = field(default_factory=dict)  # client_ref → case_no
    closed: list[str] = field(default_factory=list)
    stuck: dict[str, str] = field(default_factory=dict)  # case_no → where it stands
    duplicate_tasks: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicate_events: dict[str, list[str]] = field(default_factory=dict)
    incidents: int = 0
    retries: Counter[str] = field(default_factory=Counter)  # why requests were sent again
    kills: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0
    workers: int = 0  # worker processes running at the start

    @property
    def ok(self) -> bool:
        return (
            len(self.closed) == len(self.cases)
            and not self.stuck
            and not self.duplicate_tasks
            and not self.duplicate_events
            and not self.failures
        )


class Client:
    """A client that sends a request again when it got no answer (or a 503)."""

    def __init__(self, http: httpx.AsyncClient, result: Result, deadline: float) -> None:
        self.http = http
        self.result = result
        self.deadline = deadline
        self.headers: dict[str, dict[str, str]] = {}

    async def login(self, user: str) -> None:
        response = await self.request(
            "POST", "/auth/token", None, data={"username": user, "password": "demo"}
        )
        self.headers[user] = {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def request(self, method: str, url: str, user: str | None, **kw: Any) -> httpx.Response:
        """The first answer that is not a lost one: any status but 502/503/504."""
        while True:
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"{method} {url}: no answer before the run's time was up")
            try:
                headers = self.headers[user] if user else None
                response = await self.http.request(method, API + url, headers=headers, **kw)
            except httpx.HTTPError as error:
                self.result.retries[type(error).__name__] += 1
                await asyncio.sleep(PAUSE)
                continue
            if response.status_code in (502, 503, 504):
                code = response.json().get("code", "") if response.content else ""
                self.result.retries[f"{response.status_code} {code}".strip()] += 1
                await asyncio.sleep(PAUSE)
                continue
            if response.status_code == 401 and user:  # the API restarted: tokens still hold
                self.result.retries["401"] += 1
                await self.login(user)
                continue
            return response

    async def get(self, url: str, user: str, **kw: Any) -> Any:
        response = await self.request("GET", url, user, **kw)
        if response.status_code != 200:
            raise AssertionError(f"GET {url}: {response.status_code} {response.text[:300]}")
        return response.json()


async def lifecycle(client: Client, ref: str, progress: list[int]) -> None:
    response = await client.request("POST", "/cases", "operator", json=complaint(client_ref=ref))
    if response.status_code not in (200, 201):
        raise AssertionError(f"POST /cases: {response.status_code} {response.text[:300]}")
    case_no = response.json()["case_no"]
    client.result.cases[ref] = case_no
    for kind, user, body in STEPS:
        await step(client, case_no, kind, user, body)
    progress[0] += 1


async def step(client: Client, case_no: str, kind: str, user: str, body: dict[str, Any]) -> None:
    """Completes the case's ``kind`` task, whatever was lost on the way."""
    while True:
        found = await client.get("/tasks", user, params={"case_no": case_no, "kind": kind})
        tasks = found["data"]
        if any(t["status"] == "done" for t in tasks):
            return  # a completion whose answer was lost went through
        open_ = [t for t in tasks if t["status"] in ("open", "claimed")]
        if not open_:
            await asyncio.sleep(0.1)  # the workflow has not opened it yet
            continue
        response = await client.request(
            "POST", f"/tasks/{open_[0]['id']}/complete", user, json=body
        )
        if response.status_code == 200:
            return
        if response.status_code != 409:
            raise AssertionError(f"{case_no} {kind}: {response.status_code} {response.text[:300]}")
        client.result.retries[f"409 {response.json().get('code')}"] += 1
        await asyncio.sleep(0.2)  # read the task again: done, or not current yet


# -- the faults ---------------------------------------------------------------------------------


def child_pid(launcher: int, marker: str) -> int | None:
    """A child of the launcher whose command line holds ``marker`` (the oldest, of several
    workers)."""
    found = child_pids(launcher, marker)
    return min(found) if found else None


def child_pids(launcher: int, marker: str) -> list[int]:
    """The launcher's children whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent != launcher:
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if marker in cmdline:
            found.append(int(entry.name))
    return found


MARKERS = {"worker": "worker.py", "api": "api.serve", "temporal": "start-dev"}


def kill(launcher: int, part: str, result: Result) -> bool:
    pid = child_pid(launcher, MARKERS[part])
    if pid is None:
        return False  # down already (being restarted)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    result.kills[part] += 1
    return True


async def faults(
    launcher: int,
    cases: int,
    kill_every: float,
    progress: list[int],
    done: asyncio.Event,
    result: Result,
    workers_only: bool = False,
) -> None:
    """kill -9 each worker once it has run about ``kill_every`` s (with jitter), counted
    from its start, so a worker always gets some work done before it dies; the API once a
    third of the way, and Temporal once half way, both while lifecycles are in flight
    (``workers_only``: neither). With several workers, one is killed at a time and the
    others carry on."""
    rng = random.Random(8)
    api_killed = temporal_killed = workers_only
    worker, born, lifetime = None, time.monotonic(), kill_every
    while not done.is_set():
        try:
            await asyncio.wait_for(done.wait(), timeout=0.2)
            return
        except TimeoutError:
            pass
        pid = child_pid(launcher, MARKERS["worker"])
        if pid != worker:  # a new worker (or none, while it is being restarted)
            worker, born, lifetime = pid, time.monotonic(), kill_every * rng.uniform(0.6, 1.4)
        if pid is None or time.monotonic() - born < lifetime:
            continue
        if not api_killed and progress[0] >= cases // 3:
            api_killed = kill(launcher, "api", result)
        elif not temporal_killed and progress[0] >= cases // 2:
            temporal_killed = kill(launcher, "temporal", result)
        else:
            kill(launcher, "worker", result)
        born = time.monotonic()  # the next kill, of whichever part, comes a lifetime later


# -- the run -------------------------------------------------------------------------------------


async def run(
    base: str,
    launcher: int,
    cases: int,
    concurrency: int,
    kill_every: float,
    timeout: float,
    min_worker_kills: int = 0,
    workers_only: bool = False,
) -> Result:
    result = Result()
    result.workers = len(child_pids(launcher, MARKERS["worker"]))
    began = time.monotonic()
    limits = httpx.Limits(max_connections=concurrency * 2 + 4)
    async with httpx.AsyncClient(
        base_url=base, timeout=httpx.Timeout(40.0), limits=limits, trust_env=False
    ) as http:
        client = Client(http, result, deadline=began + timeout)
        for user in ("operator", "guichi", "supervisor"):
            await client.login(user)
        run_id = uuid.uuid4().hex[:8]
        progress = [0]
        done = asyncio.Event()

        async def one(i: int) -> None:
            await lifecycle(client, f"chaos-{run_id}-{i}", progress)

        chaos = asyncio.ensure_future(
            faults(launcher, cases, kill_every, progress, done, result, workers_only)
        )

        def faults_done() -> bool:
            if not min_worker_kills:
                return True
            return result.kills["worker"] >= min_worker_kills and (
                workers_only or (result.kills["api"] >= 1 and result.kills["temporal"] >= 1)
            )

        started = 0

        async def lane() -> None:
            nonlocal started
            while time.monotonic() < began + timeout:
                if started >= cases and faults_done():
                    return
                i = started
                started += 1
                try:
                    await one(i)
                except Exception as error:
                    result.failures.append(f"lifecycle {i}: {type(error).__name__}: {error}")

        await asyncio.gather(*(lane() for _ in range(concurrency)))
        done.set()
        await chaos
        result.wall = time.monotonic() - began
        # The count, with a fresh deadline: every part is up again by now.
        client.deadline = time.monotonic() + 120
        await count(client, result)
    return result


async def count(client: Client, result: Result) -> None:
    for case_no in result.cases.values():
        case = await client.get(f"/cases/{case_no}", "supervisor")
        tasks = (
            await client.get("/tasks", "supervisor", params={"case_no": case_no, "limit": 500})
        )["data"]
        if case["status"] == "closed":
            result.closed.append(case_no)
        else:
            waiting = [t["kind"] for t in tasks if t["status"] in ("open", "claimed")]
            result.stuck[case_no] = f"{case['status']} (open: {', '.join(waiting) or 'none'})"
        result.incidents += len(case.get("incidents", []))
        kinds = Counter(t["kind"] for t in tasks)
        extra = {k: n for k, n in kinds.items() if n > EXPECTED_TASKS.get(k, 0)}
        if extra:
            result.duplicate_tasks[case_no] = extra
        events = (await client.get(f"/cases/{case_no}/history", "supervisor"))["events"]
        seen: Counter[tuple[str, str]] = Counter()
        for event in events:
            data = event["data"]
            if event["type"] in ("task_opened", "task_completed", "task_cancelled"):
                seen[(event["type"], str(data.get("task_id")))] += 1
            elif event["type"] in ("registered", "accepted", "replied", "callback_reached"):
                seen[(event["type"], "")] += 1
            elif event["type"] == "status_changed":
                seen[(event["type"], f"{data.get('from')}→{data.get('to')}")] += 1
        twice = [f"{t} {k}".strip() + f" ×{n}" for (t, k), n in seen.items() if n > 1]
        if twice:
            result.duplicate_events[case_no] = twice


def report(result: Result, cases: int, concurrency: int, restarts: str) -> None:
    ran = len(result.cases)
    more = f", {ran - cases} more until every planned fault had happened" if ran > cases else ""
    print(f"\nlifecycles               {ran} ({concurrency} in flight{more}), {result.wall:.1f} s")
    print(f"kills (kill -9)          {dict(result.kills)}")
    print(f"launcher restarts        {restarts}")
    print(f"requests sent again      {dict(result.retries)}")
    print(f"closed                   {len(result.closed)} of {len(result.cases)} registered")
    print(f"stuck                    {len(result.stuck)}")
    for case_no, where in list(result.stuck.items())[:20]:
        print(f"  {case_no}: {where}")
    print(f"duplicate tasks          {len(result.duplicate_tasks)} cases")
    for case_no, kinds in list(result.duplicate_tasks.items())[:20]:
        print(f"  {case_no}: {kinds}")
    print(f"duplicate events         {len(result.duplicate_events)} cases")
    for case_no, events in list(result.duplicate_events.items())[:20]:
        print(f"  {case_no}: {events}")
    print(f"incidents open           {result.incidents}")
    for failure in result.failures[:20]:
        print(f"FAILED: {failure}")
    print("PASS" if result.ok else "FAIL")


def restarts_of(stack: Stack) -> str:
    text = stack.out_path.read_text(errors="replace") if stack.out_path.exists() else ""
    counts = Counter(line.split()[1] for line in text.splitlines() if line.startswith("restarted "))
    return str(dict(counts))


def chaos(
    cases: int,
    concurrency: int,
    kill_every: float,
    timeout: float,
    keep: bool = False,
    min_worker_kills: int = 0,
    workers: int = 1,
    workers_only: bool = False,
) -> Result:
    """At least ``cases`` lifecycles; more while the planned faults are not all done (the
    API and Temporal killed once, the worker ``min_worker_kills`` times), so a machine fast
    enough to finish the cases before the first kill still meets every fault."""
    data_dir = Path(tempfile.mkdtemp(prefix="weiquan-chaos-"))
    stack = Stack(data_dir)
    # The launcher's give-up rule is for a crash loop; here the kills are the test's own.
    stack.env.update(
        WEIQUAN_RESTART_MAX="10000",
        WEIQUAN_RESTART_BACKOFF_SECONDS="0.5",
        WEIQUAN_RESTART_BACKOFF_MAX_SECONDS="2",
        WEIQUAN_EMBEDDED_WORKERS=str(workers),
    )
    print(f"starting the embedded stack in {data_dir} …", flush=True)
    took = stack.start()
    print(
        f"healthy after {took:.1f} s; {cases} lifecycles, {concurrency} in flight, "
        f"each worker killed after ~{kill_every:.0f} s of life",
        flush=True,
    )
    try:
        assert stack.proc is not None
        result = asyncio.run(
            run(
                stack.base,
                stack.proc.pid,
                cases,
                concurrency,
                kill_every,
                timeout,
                min_worker_kills,
                workers_only,
            )
        )
        report(result, cases, concurrency, restarts_of(stack))
        if not result.ok:
            print(f"launcher output:\n{stack.out()}")
        return result
    finally:
        code = stack.stop()
        print(f"stack stopped (launcher exit {code})")
        if not keep:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--kill-every",
        type=float,
        default=5.0,
        help="how long each worker runs before it is killed (s)",
    )
    parser.add_argument("--timeout", type=float, default=1200.0, help="limit for the whole run")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    parser.add_argument(
        "--workers", type=int, default=1, help="workers on the task queue; one killed at a time"
    )
    parser.add_argument(
        "--workers-only", action="store_true", help="kill only workers (not the API, Temporal)"
    )
    args = parser.parse_args()
    result = chaos(
        args.cases,
        args.concurrency,
        args.kill_every,
        args.timeout,
        args.keep,
        workers=args.workers,
        workers_only=args.workers_only,
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
