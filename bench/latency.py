"""weiquan's latencies at 1 in flight against bare references, on one machine, alternating.

Starts the embedded stack (``scripts/run_embedded.py``, as ``bench/lifecycle.py`` does),
beside it the skeleton's worker on the same Temporal dev server (``bench/skeleton.py``),
and a bare FastAPI + SQLModel app on SQLite (``bench/bare.py``). Then, round after round,
one at a time:

- N weiquan complaints to closed (``bench/lifecycle.py``'s lifecycle): the latency of
  ``POST /cases`` and of each ``POST /tasks/{id}/complete``;
- N bare inserts (``POST /items``: one row, one commit);
- N skeleton lifecycles: the latency of each ``execute_update`` (a validator and one no-op
  activity: the least an update that runs a step can cost on this dev server).

It prints p50, p95 and p99 of each and the issue's two ratios: ``POST /cases`` p99 over the
bare insert's p99, and a completion's p50 over the bare update's p50 (and each task
kind's), per round and over all rounds.

    .venv/bin/python bench/latency.py [--cases 40] [--rounds 3]

It asserts no timings; the exit status is 1 only when a lifecycle failed or a case did not
close.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.floor import skeletons, spawn_skeleton  # noqa: E402
from bench.lifecycle import (  # noqa: E402
    HOST,
    BenchError,
    Stack,
    drive,
    free_port,
    percentile,
    stop_process,
)
from tests.factories import complaint  # noqa: E402

TASK_QUEUE = "latency-skeleton"
READY_TIMEOUT = 30.0
WARM_UP = 3  # lifecycles, inserts and skeletons before the counted rounds


async def bare_inserts(base: str, count: int) -> list[float]:
    body = complaint()
    item = {"subject": body["category"], "body": body["description"]}
    took: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60.0, trust_env=False) as http:
        for _ in range(count):
            began = time.perf_counter()
            response = await http.post("/items", json=item)
            took.append(time.perf_counter() - began)
            if response.status_code != 201:
                raise BenchError(f"bare insert: {response.status_code} {response.text[:200]}")
    return took


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    with httpx.Client(trust_env=False, timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"the bare app exited ({proc.returncode})")
            try:
                http.get(url)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
    raise BenchError(f"the bare app did not answer within {READY_TIMEOUT:.0f} s")


def ms(values: list[float], p: float) -> float:
    return percentile(values, p) * 1000


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<28} p50 {ms(values, 50):7.1f} ms  p95 {ms(values, 95):7.1f} ms  "
        f"p99 {ms(values, 99):7.1f} ms  (n={len(values)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=40, help="lifecycles per round (40)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="weiquan-latency-"))
    stack = Stack(data_dir)
    worker: subprocess.Popen[bytes] | None = None
    bare: subprocess.Popen[bytes] | None = None
    failed = False
    register: list[float] = []
    complete: dict[str, list[float]] = {}
    inserts: list[float] = []
    updates: list[float] = []
    try:
        print(f"starting the embedded stack in {data_dir} …", flush=True)
        stack.start()
        worker = spawn_skeleton(stack.address, TASK_QUEUE, data_dir / "skeleton.out")
        port = free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "bench.bare", "--port", str(port),
             "--db", str(data_dir / "bare.db")],
            cwd=ROOT, stdout=(data_dir / "bare.out").open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        bare_base = f"http://{HOST}:{port}"
        wait_ready(f"{bare_base}/docs", bare)
        time.sleep(2)  # the skeleton's worker polling
        # Warm-up, not counted: each process's first requests (imports, pools, caches).
        warm, _, _ = asyncio.run(drive(stack.base, WARM_UP, 1, 0.05, 300.0, False))
        if warm.failures:
            raise BenchError(f"warm-up: {warm.failures[:3]}")
        asyncio.run(bare_inserts(bare_base, WARM_UP))
        asyncio.run(skeletons(stack.address, WARM_UP, 1, task_queue=TASK_QUEUE))
        print(f"{args.rounds} rounds of {args.cases} lifecycles, 1 in flight")
        print(f"{'round':>5} {'POST /cases p99':>16} {'bare insert p99':>16} {'ratio':>6} "
              f"{'complete p50':>13} {'bare update p50':>16} {'ratio':>6}")  # fmt: skip
        for number in range(1, args.rounds + 1):
            figures, _, statuses = asyncio.run(drive(stack.base, args.cases, 1, 0.05, 900.0, False))
            not_closed = [c for c, s in statuses.items() if s != "closed"]
            if figures.failures or not_closed:
                failed = True
                print(f"weiquan round {number}: {figures.failures[:3]} {not_closed[:3]}")
            round_inserts = asyncio.run(bare_inserts(bare_base, args.cases))
            round_updates: list[float] = []
            _, failures = asyncio.run(
                skeletons(
                    stack.address, args.cases, 1, task_queue=TASK_QUEUE, updates=round_updates
                )
            )
            if failures:
                failed = True
                print(f"skeleton round {number}: {failures[:3]}")
            completions = [t for kind in figures.complete.values() for t in kind]
            print(
                f"{number:>5} {ms(figures.register, 99):>13.1f} ms "
                f"{ms(round_inserts, 99):>13.1f} ms "
                f"{ms(figures.register, 99) / ms(round_inserts, 99):>6.1f} "
                f"{ms(completions, 50):>10.1f} ms {ms(round_updates, 50):>13.1f} ms "
                f"{ms(completions, 50) / ms(round_updates, 50):>6.1f}",
                flush=True,
            )
            register += figures.register
            for kind, took in figures.complete.items():
                complete.setdefault(kind, []).extend(took)
            inserts += round_inserts
            updates += round_updates

        everything = [t for took in complete.values() for t in took]
        print("\nover all rounds")
        print(line("POST /cases", register))
        print(line("bare insert", inserts))
        print(line("POST /tasks/{id}/complete", everything))
        for kind, took in complete.items():
            print(line(f"  {kind}", took))
        print(line("bare execute_update", updates))
        print(
            f"\nPOST /cases p99 ÷ bare insert p99: {ms(register, 99) / ms(inserts, 99):.1f}×"
            f"\ncompletion p50 ÷ bare update p50: {ms(everything, 50) / ms(updates, 50):.1f}×  ("
            + ", ".join(
                f"{kind} {ms(took, 50) / ms(updates, 50):.1f}×" for kind, took in complete.items()
            )
            + ")"
        )
    except BenchError as error:
        failed = True
        print(f"error: {error}", file=sys.stderr)
    finally:
        stop_process(worker)
        stop_process(bare)
        stack.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
