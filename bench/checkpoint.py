"""How long an audit checkpoint takes for many cases.

    .venv/bin/python bench/checkpoint.py [--cases 100000] [--events 3] [--postgres URL]

Seeds the cases and their hash-chained events straight into a fresh database (SQLite in a
temp dir, or a new schema of ``--postgres``), then takes two checkpoints with the audit's
key, as the daily workflow's activity does: the first puts every case's head in the tree,
the second (after one case in a hundred moved on) appends only the moved heads. It prints
the time of each, and of an inclusion and a consistency proof. It asserts no timing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from api.audit import checkpoints  # noqa: E402
from api.audit.models import AuditCheckpoint  # noqa: E402
from api.casefile.history import GENESIS, digest  # noqa: E402
from api.casefile.models import Case, Event  # noqa: E402
from api.db import utcnow  # noqa: E402
from api.migrations import migrate  # noqa: E402
from bench.supervision import BATCH, postgres_engine, sqlite_engine  # noqa: E402


def seed(engine: Engine, cases: int, events: int) -> None:
    now = utcnow()
    case_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for i in range(1, cases + 1):
        case_no = f"TS20261202{i:06d}"
        case_rows.append(
            {
                "id": i,
                "case_no": case_no,
                "kind": "complaint",
                "channel": "hotline",
                "status": "triage",
                "received_at": now,
                "registered_at": now,
                "registered_by": "operator",
                "registered_unit": "city",
                "rule_set": "samr-order-121",
                "description": "冰箱不制冷",
                "respondent": {"name": "某商场"},
                "overdue": False,
                "anonymous": False,
            }
        )
        event_rows.extend(chain(case_no, 1, GENESIS, events, now))
    with engine.begin() as connection:
        for table, rows in ((Case.__table__, case_rows), (Event.__table__, event_rows)):
            for start in range(0, len(rows), BATCH):
                connection.execute(insert(table), rows[start : start + BATCH])  # type: ignore[arg-type]


def chain(case_no: str, first: int, prev: str, count: int, at: Any) -> Iterator[dict[str, Any]]:
    for seq in range(first, first + count):
        data = {"n": seq}
        hash_ = digest(prev, seq, at, "system", "bench", data)
        yield {
            "case_no": case_no,
            "seq": seq,
            "at": at,
            "actor": "system",
            "type": "bench",
            "data": data,
            "prev_hash": prev,
            "hash": hash_,
        }
        prev = hash_


def move_on(engine: Engine, cases: int, every: int) -> int:
    """One more event on every ``every``-th case."""
    rows = []
    at = utcnow() + timedelta(seconds=1)
    with Session(engine) as session:
        for i in range(1, cases + 1, every):
            case_no = f"TS20261202{i:06d}"
            last = session.exec(
                select(Event).where(Event.case_no == case_no).order_by(Event.seq.desc())  # type: ignore[attr-defined]
            ).first()
            assert last is not None
            rows.extend(chain(case_no, last.seq + 1, last.hash, 1, at))
    with engine.begin() as connection:
        connection.execute(insert(Event.__table__), rows)  # type: ignore[arg-type]
    return len(rows)


def timed(what: str, run: Callable[[], Any]) -> Any:
    began = time.perf_counter()
    result = run()
    print(f"{what:<44} {time.perf_counter() - began:8.2f} s")
    return result


def measure(make: Callable[[], AbstractContextManager[tuple[Engine, str]]], args: Any) -> None:
    key = Ed25519PrivateKey.generate()
    with make() as (engine, where):
        migrate(engine)
        timed(
            f"seed {args.cases:,} cases × {args.events} events ({where})",
            lambda: seed(engine, args.cases, args.events),
        )

        def take(name: str) -> AuditCheckpoint:
            with Session(engine, expire_on_commit=False) as session:
                return checkpoints.take(session=session, key=key, name=name)

        first = timed("checkpoint 1 (every head)", lambda: take("bench-1"))
        moved = move_on(engine, args.cases, 100)
        second = timed(f"checkpoint 2 ({moved:,} heads moved)", lambda: take("bench-2"))
        print(f"tree sizes {first.tree_size:,} → {second.tree_size:,}")
        with Session(engine) as session:
            timed(
                "inclusion proof of one case",
                lambda: checkpoints.inclusion(
                    session=session, checkpoint=second, case_no="TS20261202000001"
                ),
            )
            timed(
                "inclusion proof of another case (tree kept)",
                lambda: checkpoints.inclusion(
                    session=session, checkpoint=second, case_no="TS20261202000002"
                ),
            )
            timed(
                "consistency proof 1 → 2",
                lambda: checkpoints.consistency(session=session, earlier=first, later=second),
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL URL: measure there too")
    args = parser.parse_args()
    measure(lambda: sqlite_engine(False), args)
    if args.postgres:
        measure(lambda: postgres_engine(args.postgres), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
