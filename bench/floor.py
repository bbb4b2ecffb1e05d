"""weiquan's lifecycle against the engine's floor, on one dev server, alternating.

Starts the embedded stack (``scripts/run_embedded.py``, as ``bench/lifecycle.py`` does) and,
beside it on the same Temporal dev server (the same SQLite file, the same storage mode),
the skeleton's worker in its own process (``bench/skeleton.py``: one workflow, five no-op
activities, three updates with validators; the pydantic converter, the default sandbox).
Then, round after round, it drives N weiquan complaints to closed and N skeleton
lifecycles to their end, C in flight each, and prints each round's lifecycles/s and CPU
per lifecycle of both and their ratios, then the medians.

    .venv/bin/python bench/floor.py [--cases 60] [--concurrency 8] [--rounds 3]

It asserts no timings; the exit status is 1 only when a lifecycle failed or a case did
not close.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402

from bench.lifecycle import (  # noqa: E402
    BenchError,
    Stack,
    _proc_table,
    drive,
    in_lanes,
    own_cpu,
    stack_cpu,
    stop_process,
)
from bench.skeleton import Skeleton, Start, Step  # noqa: E402

TASK_QUEUE = "floor-skeleton"


def cpu_of(pid: int) -> float:
    """CPU seconds of a process and its descendants."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    total, stack = 0.0, [pid]
    while stack:
        each = stack.pop()
        total += table.get(each, (0, 0.0))[1]
        stack.extend(children.get(each, []))
    return total


def spawn_skeleton(address: str, task_queue: str, log: Path) -> subprocess.Popen[bytes]:
    """The skeleton's worker (``bench/skeleton.py``) in its own process, its output in ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench.skeleton", "--address", address, "--task-queue", task_queue],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def skeletons(
    address: str,
    cases: int,
    concurrency: int,
    *,
    task_queue: str = TASK_QUEUE,
    updates: list[float] | None = None,
) -> tuple[float, list[str]]:
    """Runs skeleton lifecycles; returns the wall time and the failures. ``updates``, if
    given, gets each ``execute_update``'s latency."""
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    run = uuid.uuid4().hex[:8]
    failures: list[str] = []

    async def one(i: int) -> None:
        handle = await client.start_workflow(
            Skeleton.run, Start(case=f"{run}-{i}"), id=f"floor-{run}-{i}", task_queue=task_queue
        )
        for number in (1, 2, 3):
            began = time.perf_counter()
            await handle.execute_update(Skeleton.step, Step(number=number))
            if updates is not None:
                updates.append(time.perf_counter() - began)
        done = await handle.result()
        if done.steps != 3:
            raise BenchError(f"skeleton {i} ended after {done.steps} steps")

    began = time.perf_counter()
    await in_lanes(cases, concurrency, one, failures)
    return time.perf_counter() - began, failures


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=60, help="lifecycles per batch (60)")
    parser.add_argument("--concurrency", type=int, default=8, help="in flight (8)")
    parser.add_argument("--rounds", type=int, default=3, help="weiquan/skeleton pairs (3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="weiquan-floor-"))
    stack = Stack(data_dir)
    worker: subprocess.Popen[bytes] | None = None
    failed = False
    rows: list[dict[str, float]] = []
    try:
        print(f"starting the embedded stack in {data_dir} …", flush=True)
        stack.start()
        assert stack.proc is not None
        worker = spawn_skeleton(stack.address, TASK_QUEUE, data_dir / "skeleton.out")
        time.sleep(2)
        print(f"{args.rounds} rounds of {args.cases} lifecycles, {args.concurrency} in flight")
        print(f"{'round':>5} {'weiquan/s':>10} {'floor/s':>8} {'ratio':>6} "
              f"{'weiquan CPU ms':>15} {'floor CPU ms':>13}")  # fmt: skip
        for number in range(1, args.rounds + 1):
            before = stack_cpu(stack.proc.pid)
            figures, wall, statuses = asyncio.run(
                drive(stack.base, args.cases, args.concurrency, 0.05, 900.0, False)
            )
            after = stack_cpu(stack.proc.pid)
            parts = ("temporal", "worker", "api")
            ours = sum(after.get(k, 0.0) - before.get(k, 0.0) for k in parts)
            not_closed = [c for c, s in statuses.items() if s != "closed"]
            if figures.failures or not_closed:
                failed = True
                print(f"weiquan round {number}: {figures.failures[:3]} {not_closed[:3]}")

            temporal_before = stack_cpu(stack.proc.pid).get("temporal", 0.0)
            worker_before, driver_before = cpu_of(worker.pid), own_cpu()
            floor_wall, failures = asyncio.run(
                skeletons(stack.address, args.cases, args.concurrency)
            )
            temporal = stack_cpu(stack.proc.pid).get("temporal", 0.0) - temporal_before
            floor = temporal + cpu_of(worker.pid) - worker_before
            if failures:
                failed = True
                print(f"skeleton round {number}: {failures[:3]}")
            row = {
                "weiquan": args.cases / wall,
                "floor": args.cases / floor_wall,
                "weiquan_cpu": ours / args.cases * 1000,
                "floor_cpu": floor / args.cases * 1000,
                "driver_cpu": (own_cpu() - driver_before) / args.cases * 1000,
            }
            row["ratio"] = row["weiquan"] / row["floor"]
            rows.append(row)
            print(f"{number:>5} {row['weiquan']:>10.2f} {row['floor']:>8.2f} {row['ratio']:>6.2f} "
                  f"{row['weiquan_cpu']:>15.0f} {row['floor_cpu']:>13.0f}", flush=True)  # fmt: skip
        print(
            f"median: weiquan {median([r['weiquan'] for r in rows]):.2f}/s, "
            f"floor {median([r['floor'] for r in rows]):.2f}/s, "
            f"ratio {median([r['ratio'] for r in rows]):.2f} "
            f"(range {min(r['ratio'] for r in rows):.2f}–{max(r['ratio'] for r in rows):.2f}); "
            f"CPU per lifecycle {median([r['weiquan_cpu'] for r in rows]):.0f} ms against "
            f"{median([r['floor_cpu'] for r in rows]):.0f} ms "
            "(weiquan: temporal + worker + api; floor: temporal + skeleton worker)"
        )
    except BenchError as error:
        failed = True
        print(f"error: {error}", file=sys.stderr)
    finally:
        stop_process(worker)
        stack.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
