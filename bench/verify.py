"""How long GET /cases/{no}/history/verify takes for a case with a long history.

    .venv/bin/python bench/verify.py [--events 200] [--runs 20] [--keep]

It starts the embedded stack (what `make run` starts) in a temp dir on free ports, registers
a complaint, accepts it, records mediation sessions (each one event) until the case has
``--events`` events, and then times ``--runs`` verifications as the auditor. Each check
recomputes the chain and reads the complaint's and the mediation's Temporal histories. It
prints the median and the spread, and asserts no timing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lifecycle import REQUEST_TIMEOUT, TRIAGE, BenchError, Driver, Figures, Stack  # noqa: E402
from tests.factories import ZONE, complaint  # noqa: E402

SESSION = {
    "place": "贵池分局调解室",
    "attendees": [
        {"name": "张三", "role": "complainant"},
        {"name": "李经理", "role": "respondent"},
    ],
    "minutes": "双方陈述意见",
}


async def run(base: str, events: int, runs: int) -> list[float]:
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT, trust_env=False) as http:
        driver = Driver(http, Figures(), poll_interval=0.05, strict=False)
        await driver.login("operator", "guichi", "auditor")
        case = await driver.call("POST", "/cases", "operator", json=complaint())
        case_no = case["case_no"]
        await driver.complete(
            await driver.open_task(case_no, "triage", "operator"), "operator", TRIAGE
        )
        await driver.open_task(case_no, "handle", "guichi")
        body = {**SESSION, "held_on": datetime.now(ZONE).date().isoformat()}
        while True:
            history = await driver.call("GET", f"/cases/{case_no}/history", "auditor")
            if len(history["events"]) >= events:
                break
            await driver.call("POST", f"/cases/{case_no}/mediation/sessions", "guichi", json=body)
        took = []
        for _ in range(runs):
            began = time.perf_counter()
            answer = await driver.call("GET", f"/cases/{case_no}/history/verify", "auditor")
            took.append(time.perf_counter() - began)
            if not answer["ok"]:
                raise BenchError(f"verification failed: {answer}")
        print(f"case {case_no}: {answer['events']} events, {answer['temporal_events']} Temporal")
        return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="weiquan-bench-verify-"))
    stack = Stack(data_dir)
    try:
        print(f"stack healthy after {stack.start():.1f} s")
        took = asyncio.run(run(stack.base, args.events, args.runs))
        ms = sorted(t * 1000 for t in took)
        print(
            f"verify ({len(ms)} runs): median {statistics.median(ms):.0f} ms, "
            f"min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms"
        )
        return 0
    except BenchError as error:
        print(f"FAILED: {error}")
        return 1
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
