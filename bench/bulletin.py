"""The bulletin's computation for one month, and the 12-month trend, as the data grows.

Seeds N complaints over the last 12 months as ``bench/supervision.py`` does (straight
into the tables the migrations build) and builds the rollup from them
(``api.supervision.rollup.rebuild``, as the first start after the upgrade does). Then it
times ``api.bulletins.figures.compute`` for last month (its figures, the month before and
the same month a year before, and the ranking) and the city's 12-month trend the bulletin
page draws (``month_counts`` for each month), both read from the rollup; and, for
comparison, the month recounted from the raw tables (``recount_month``, the definition the
rollup is held to). Median of ``--runs`` after one warm-up; it prints the figures and the
ratio largest / smallest, and asserts no timings.

    .venv/bin/python bench/bulletin.py                   # SQLite, 1,000 and 100,000 cases
    .venv/bin/python bench/bulletin.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/bulletin.py --sizes 1000 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
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

from api.bulletins import figures  # noqa: E402
from api.config import Settings  # noqa: E402
from api.migrations import migrate  # noqa: E402
from api.supervision import rollup  # noqa: E402
from api.units import service as units  # noqa: E402
from api.workdays import local_date  # noqa: E402
from bench.supervision import (  # noqa: E402
    Seeder,
    analyze,
    insert_rows,
    postgres_engine,
    sqlite_engine,
)

SETTINGS = Settings()


def seed(engine: Engine, n: int, now: datetime, seed_: int) -> None:
    migrate(engine)
    with Session(engine) as session:
        units.load_org(session=session, path=SETTINGS.org_file)
    insert_rows(engine, Seeder(n, now, seed_).build())
    began = time.perf_counter()
    with Session(engine) as session:
        rollup.rebuild(session)
    print(f"   rollup built from the records in {time.perf_counter() - began:.1f} s")
    analyze(engine)


def work(now: datetime) -> dict[str, Callable[[Session], Any]]:
    today = local_date(now)
    last = figures.Month(today.year, today.month).before()

    def month(session: Session) -> Any:
        return figures.compute(session, last, min_cases=SETTINGS.bulletin_min_cases)

    def trend(session: Session) -> Any:
        m, out = last, []
        for _ in range(12):
            out.append(figures.with_rates(figures.city(figures.month_counts(session, m))))
            m = m.before()
        return out

    def recounted(session: Session) -> Any:
        return figures.compute(
            session, last, min_cases=SETTINGS.bulletin_min_cases, counts=figures.recount_month
        )

    return {
        f"one month ({last})": month,
        "12-month trend": trend,
        "one month, recounted from the records": recounted,
    }


def timed(engine: Engine, run: Callable[[Session], Any], runs: int) -> float:
    with Session(engine) as session:
        run(session)  # warm-up
    took = []
    for _ in range(runs):
        with Session(engine) as session:
            began = time.perf_counter()
            run(session)
            took.append(time.perf_counter() - began)
    return statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL at URL")
    parser.add_argument("--seed", type=int, default=12315)
    args = parser.parse_args()
    now = datetime.now(UTC)
    backends: list[tuple[str, Callable[[], Any]]] = [("sqlite", lambda: sqlite_engine(False))]
    if args.postgres:
        url = args.postgres
        backends.append(("postgresql", lambda: postgres_engine(url)))
    lines = []
    for name, make in backends:
        results: dict[int, dict[str, float]] = {}
        for n in args.sizes:
            with make() as (engine, where):
                began = time.perf_counter()
                seed(engine, n, now, args.seed)
                print(f"== {n:,} cases in {where}, seeded in {time.perf_counter() - began:.1f} s")
                results[n] = {}
                for label, run in work(now).items():
                    results[n][label] = timed(engine, run, args.runs)
                    print(f"   {label}: {results[n][label] * 1000:.1f} ms")
        small, large = min(args.sizes), max(args.sizes)
        for label in results[small]:
            a, b = results[small][label], results[large][label]
            lines.append(
                f"| {name} | {label} | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {b / a:.1f}× |"
            )
    print(f"\n| backend | work | {min(args.sizes):,} cases | {max(args.sizes):,} cases | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
