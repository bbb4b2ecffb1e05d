"""The chaos run, short: lifecycles over HTTP while the worker is killed every few seconds,
the API once and Temporal once. Every case closes, nothing is duplicated.

The long form (200 lifecycles) is ``.venv/bin/python bench/chaos.py``; WEIQUAN_CHAOS_CASES
sets the number here.
"""

import os

from bench.chaos import chaos


def test_every_case_closes_once_while_its_parts_are_killed() -> None:
    cases = int(os.environ.get("WEIQUAN_CHAOS_CASES", "16"))
    # At least ``cases`` lifecycles, and more until every planned fault has happened.
    result = chaos(cases=cases, concurrency=8, kill_every=4.0, timeout=600, min_worker_kills=3)

    assert result.kills["worker"] >= 3 and result.kills["api"] == 1
    assert result.kills["temporal"] == 1
    assert result.failures == []
    assert result.stuck == {}
    assert len(result.closed) == len(result.cases) >= cases
    assert result.duplicate_tasks == {} and result.duplicate_events == {}
    assert result.incidents == 0
