"""Load, as a correctness test on the real stack (uvicorn, worker, Temporal): 64
registrations at once, then 32 lifecycles in flight, all complete. The API stalled at 32
in flight before (blocking database calls on its event loop). The timeouts only guard
against a hang; speed is measured by bench/lifecycle.py."""

import asyncio
import tempfile
import uuid
from pathlib import Path

import httpx

from bench.lifecycle import Stack, drive
from tests.factories import complaint


async def register_at_once(base: str, n: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base, timeout=120, trust_env=False) as http:
        token = (
            await http.post("/api/v1/auth/token", data={"username": "operator", "password": "demo"})
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        run = uuid.uuid4().hex[:8]
        answers = await asyncio.gather(
            *(
                http.post("/api/v1/cases", headers=headers, json=complaint(client_ref=f"{run}-{i}"))
                for i in range(n)
            )
        )
        listed = await http.get("/api/v1/cases", headers=headers, params={"limit": 500})
        assert listed.json()["count"] == n
        return [a.status_code for a in answers]


def test_64_registrations_at_once_and_32_lifecycles_in_flight_all_complete() -> None:
    stack = Stack(Path(tempfile.mkdtemp(prefix="weiquan-load-")))
    stack.start()
    try:
        statuses = asyncio.run(register_at_once(stack.base, 64))
        assert statuses == [201] * 64

        figures, _, final = asyncio.run(
            drive(stack.base, 32, 32, poll_interval=0.1, timeout=600, strict=False)
        )
        assert figures.failures == []
        assert len(figures.lifecycle) == 32
        assert set(final.values()) == {"closed"}
    finally:
        assert stack.stop() == 0, stack.out()
