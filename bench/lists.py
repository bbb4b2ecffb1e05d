"""The lists at 1,000 and at 100,000 cases: the overdue list, the inbox and the case list.

Seeds N complaints as ``bench/supervision.py`` does (12 months of them, the closed ones
with their tasks done, so the open tasks are a real backlog: about 100 at 1,000 cases and
11,000 at 100,000), straight into a fresh database built by the migrations. Then it times
the service functions behind the lists a clerk opens most, each in a new session, median
of ``--runs`` after one warm-up:

- ``supervision.overdue``, the first page (100, the route's default) for every unit and
  for ``guichi`` (``GET /supervision/overdue``);
- ``inbox.listing`` of the open tasks, the first page of 50 (``GET /tasks?status=open``),
  for the centre's operator, a handler of 贵池分局 and the city's supervisor;
- ``cases.list_visible``, the first page of 50 (``GET /cases``), city-wide (the centre's
  operator; a city supervisor's query is the same) and for a handler of 贵池分局.

It prints the figures, the ratio of the largest size to the smallest, and the plan of
every statement they run (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL),
for the largest size unless ``--plans all|none``. It asserts no timings.

    .venv/bin/python bench/lists.py                      # SQLite, 1,000 and 100,000 cases
    .venv/bin/python bench/lists.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/lists.py --sizes 1000 10000 --runs 3 --plans none   # quick

SQLite goes to a new temp dir, PostgreSQL to a new schema, both removed afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from api.cases import service as cases  # noqa: E402
from api.config import Settings  # noqa: E402
from api.inbox import service as inbox  # noqa: E402
from api.migrations import migrate  # noqa: E402
from api.supervision import service as supervision  # noqa: E402
from api.tasks.models import TaskStatus  # noqa: E402
from api.units import service as units  # noqa: E402
from api.users.models import Role, User  # noqa: E402
from api.workdays import WorkingCalendar, local_date  # noqa: E402
from bench.supervision import (  # noqa: E402
    Query,
    Seeder,
    analyze,
    insert_rows,
    plans,
    postgres_engine,
    sqlite_engine,
    timed,
)

PAGE = 50
OPERATOR = User(username="operator", role=Role.OPERATOR, unit="city", password_hash="")
HANDLER = User(username="guichi", role=Role.HANDLER, unit="guichi", password_hash="")
SUPERVISOR = User(username="supervisor", role=Role.SUPERVISOR, unit="city", password_hash="")


def queries(now: datetime) -> list[Query]:
    today = local_date(now)
    calendar = WorkingCalendar()

    def overdue(unit: str | None) -> Callable[[Session], Any]:
        return lambda s: supervision.overdue(
            session=s, calendar=calendar, unit=unit, today=today, limit=100, offset=0
        )

    def tasks(user: User) -> Callable[[Session], Any]:
        return lambda s: inbox.listing(
            session=s,
            user=user,
            status=TaskStatus.OPEN,
            kind=None,
            case_no=None,
            limit=PAGE,
            offset=0,
        )

    def case_list(user: User) -> Callable[[Session], Any]:
        return lambda s: cases.list_visible(
            session=s,
            user=user,
            kind=None,
            status=None,
            unit=None,
            overdue=None,
            limit=PAGE,
            offset=0,
        )

    return [
        Query("overdue, all units (page of 100)", overdue(None)),
        Query("overdue, unit=guichi", overdue("guichi")),
        Query("inbox, centre operator", tasks(OPERATOR)),
        Query("inbox, guichi handler", tasks(HANDLER)),
        Query("inbox, city supervisor", tasks(SUPERVISOR)),
        Query("cases, city-wide", case_list(OPERATOR)),
        Query("cases, guichi handler", case_list(HANDLER)),
    ]


def shown(result: Any) -> str:
    """The rows on the page and the count the answer gives."""
    if isinstance(result, tuple):  # list_visible: rows, count, exact
        rows, count, exact = result
    else:
        rows, count, exact = result.data, result.count, getattr(result, "count_exact", True)
    return f"{len(rows)} rows, count {count}{'' if exact else '+'}"


def measure(engine: Engine, now: datetime, runs: int, show_plans: bool) -> dict[str, float]:
    figures = {}
    for query in queries(now):
        seconds, result = timed(engine, query, runs)
        figures[query.label] = seconds
        print(f"    {query.label:<36} {seconds * 1000:9.2f} ms   ({shown(result)})")
        if show_plans:
            print("\n".join(plans(engine, query)))
    return figures


def run_size(
    make: Callable[[], Any], n: int, now: datetime, args: argparse.Namespace
) -> dict[str, float]:
    with make() as (engine, where):
        started = time.perf_counter()
        migrate(engine)
        with Session(engine) as session:
            units.load_org(session=session, path=Settings().org_file)
        rows = Seeder(n, now, args.seed).build()
        insert_rows(engine, rows)
        analyze(engine)
        open_tasks = sum(t["status"] == "open" for t in rows.tasks)
        print(
            f"\n== {n:,} cases in {where}: {len(rows.tasks):,} tasks ({open_tasks:,} open), "
            f"{len(rows.deadlines):,} deadlines; seeded in {time.perf_counter() - started:.1f} s"
        )
        show = args.plans == "all" or (args.plans == "largest" and n == max(args.sizes))
        return measure(engine, now, args.runs, show)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query (median)")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL at URL")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--plans", choices=["none", "largest", "all"], default="largest")
    parser.add_argument("--seed", type=int, default=12315)
    args = parser.parse_args()
    now = datetime.now(UTC)
    backends: list[tuple[str, Callable[[], Any]]] = []
    if not args.no_sqlite:
        backends.append(("sqlite", lambda: sqlite_engine(False)))
    if args.postgres:
        url = args.postgres
        backends.append(("postgresql", lambda: postgres_engine(url)))
    small, large = min(args.sizes), max(args.sizes)
    summary = []
    for name, make in backends:
        results = {n: run_size(make, n, now, args) for n in args.sizes}
        for label, a in results[small].items():
            b = results[large][label]
            summary.append(
                f"| {name} | {label} | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {b / a:.1f}× |"
            )
    print(f"\n| backend | list | {small:,} cases | {large:,} cases | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
