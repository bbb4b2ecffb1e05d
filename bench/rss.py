"""The worker's memory as open cases pile up: its resident set at 300 and at 1,500 open
cases, on the embedded stack, with the sticky cache at a given size.

Each open case is a complaint accepted and in handling, so two workflows run for it (the
complaint's and its mediation's), each waiting for a person for days. A worker keeps up to
``WEIQUAN_WORKER_MAX_CACHED_WORKFLOWS`` of them in memory (its sticky cache); beyond that
it evicts the least recently used, and replays one from its history when it next moves. So
its memory grows with the open cases up to the cache's size, and no further.

    .venv/bin/python bench/rss.py [--cache 1000] [--sizes 300 1500] [--concurrency 8]

It starts the stack as ``bench/lifecycle.py`` does, registers and accepts complaints until
each size is reached, lets the worker settle, and prints its resident set (VmRSS) at each
size and their ratio. It asserts no figures: the exit status is 1 only when a case could
not be opened.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.lifecycle import (  # noqa: E402
    REQUEST_TIMEOUT,
    TRIAGE,
    BenchError,
    Driver,
    Figures,
    Stack,
    _proc_table,
    _role,
    in_lanes,
)
from tests.factories import complaint  # noqa: E402

SETTLE = 3.0  # seconds for the worker to finish what the last cases asked of it


def worker_rss(launcher_pid: int) -> float:
    """The worker's resident set in MiB (VmRSS of the launcher's worker child)."""
    for pid, (parent, _) in _proc_table().items():
        if parent == launcher_pid and _role(pid) == "worker":
            for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    raise BenchError("no worker process found under the launcher")


async def open_cases(base: str, count: int, concurrency: int) -> list[str]:
    """Registers ``count`` complaints and accepts each (its mediation starts)."""
    failures: list[str] = []
    limits = httpx.Limits(max_connections=concurrency * 2 + 4)
    async with httpx.AsyncClient(
        base_url=base, timeout=REQUEST_TIMEOUT, limits=limits, trust_env=False
    ) as http:
        driver = Driver(http, Figures(), 0.05, False)
        await driver.login("operator", "guichi")
        run_id = uuid.uuid4().hex[:8]

        async def one(i: int) -> None:
            case = await driver.call(
                "POST", "/cases", "operator", json=complaint(client_ref=f"rss-{run_id}-{i}")
            )
            triage = await driver.open_task(case["case_no"], "triage", "operator")
            await driver.complete(triage, "operator", TRIAGE)
            await driver.open_task(case["case_no"], "handle", "guichi")

        await in_lanes(count, concurrency, one, failures)
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=int, default=None, help="the sticky cache's size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1500])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    data_dir = Path(tempfile.mkdtemp(prefix="weiquan-rss-"))
    stack = Stack(data_dir)
    if args.cache is not None:
        stack.env["WEIQUAN_WORKER_MAX_CACHED_WORKFLOWS"] = str(args.cache)
    failed = False
    try:
        stack.start()
        assert stack.proc is not None
        cache = args.cache if args.cache is not None else "default"
        print(f"worker sticky cache: {cache}; open cases: {sizes}", flush=True)
        print(f"{'open cases':>10} {'workflows':>10} {'worker RSS MiB':>15} {'took s':>7}")
        opened, figures = 0, {}
        idle = worker_rss(stack.proc.pid)
        print(f"{0:>10} {0:>10} {idle:>15.0f} {'':>7}", flush=True)
        for size in sizes:
            began = time.monotonic()
            failures = asyncio.run(open_cases(stack.base, size - opened, args.concurrency))
            if failures:
                failed = True
                print(f"{len(failures)} cases not opened: {failures[:3]}")
            opened = size
            time.sleep(SETTLE)
            figures[size] = worker_rss(stack.proc.pid)
            took = time.monotonic() - began
            print(f"{size:>10} {2 * size:>10} {figures[size]:>15.0f} {took:>7.0f}", flush=True)
        if len(sizes) >= 2:
            low, high = sizes[0], sizes[-1]
            print(
                f"RSS {high} ÷ {low} open cases: {figures[high] / figures[low]:.2f} "
                f"({figures[high]:.0f} ÷ {figures[low]:.0f} MiB)"
            )
    except BenchError as error:
        failed = True
        print(f"error: {error}", file=sys.stderr)
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
