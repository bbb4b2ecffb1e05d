"""The chaos run, short: lifecycles over HTTP while the worker is killed every few seconds,
the API once and Temporal once; and with two workers on the task queue, one killed after
the other while the other carries on. Every case closes, nothing is duplicated.

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


def test_with_two_workers_one_killed_at_a_time_the_other_carries_on() -> None:
    result = chaos(
        cases=12,
        concurrency=8,
        kill_every=6.0,  # each worker's life: with two, one of them dies every ~3 s
        timeout=300,
        min_worker_kills=3,
        workers=2,
        workers_only=True,
    )

    assert result.workers == 2
    assert result.kills["worker"] >= 3 and result.kills["api"] == result.kills["temporal"] == 0
    assert result.failures == []
    assert result.stuck == {}
    assert len(result.closed) == len(result.cases) >= 12
    assert result.duplicate_tasks == {} and result.duplicate_events == {}
    assert result.incidents == 0
