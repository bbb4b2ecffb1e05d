"""The floor weiquan's lifecycle is measured against (``bench/floor.py``): the least a
Temporal lifecycle of the same shape costs on the same dev server. One workflow, a no-op
activity at its start, three updates (each with a validator, each running one no-op
activity), a no-op activity at its end; the pydantic data converter, the default
sandbox, a worker in its own process. None of weiquan's code.

    python -m bench.skeleton --address 127.0.0.1:7233 --task-queue floor   # the worker
"""

import argparse
import asyncio
import signal
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

ACTIVITY_TIMEOUT = timedelta(seconds=30)


class Start(BaseModel):
    case: str


class Step(BaseModel):
    number: int


class Done(BaseModel):
    case: str
    steps: int


@activity.defn
async def noop(case: str) -> str:
    return case


@workflow.defn
class Skeleton:
    def __init__(self) -> None:
        self.steps = 0
        self.case = ""

    @workflow.run
    async def run(self, start: Start) -> Done:
        self.case = start.case
        await workflow.execute_activity(noop, start.case, start_to_close_timeout=ACTIVITY_TIMEOUT)
        await workflow.wait_condition(lambda: self.steps == 3)
        await workflow.execute_activity(noop, start.case, start_to_close_timeout=ACTIVITY_TIMEOUT)
        return Done(case=start.case, steps=self.steps)

    @workflow.update
    async def step(self, step: Step) -> int:
        await workflow.execute_activity(noop, self.case, start_to_close_timeout=ACTIVITY_TIMEOUT)
        self.steps += 1
        return self.steps

    @step.validator
    def current(self, step: Step) -> None:
        if step.number != self.steps + 1:
            raise ValueError(f"step {step.number} is not the current one")


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=task_queue, workflows=[Skeleton], activities=[noop]):
        print("skeleton worker ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", default="floor")
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue))
