"""Plain factory functions for test data."""

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")


def complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "complaint",
        "channel": "hotline",
        "received_at": (datetime.now(ZONE) - timedelta(hours=1)).isoformat(),
        "complainant": {"name": "张三", "phone": "13800000000"},
        "respondent": {"name": "某某家电商场", "district": "贵池区", "address": "长江路1号"},
        "category": "家用电器",
        "description": "购买的冰箱三天后不制冷，商家拒绝退货。",
        "claim": "退货退款",
    }
    body.update(overrides)
    return body


async def eventually(check: Any, *, timeout: float = 15.0, interval: float = 0.1) -> Any:
    """Polls an async check until it returns a truthy value (workflows move asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)
