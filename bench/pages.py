"""The workplace's pages at 1,000 and at 100,000 cases: the server's time to render them.

Seeds N complaints as ``bench/supervision.py`` does (straight into the tables built by the
migrations), then adds 500 open tasks for 贵池分局 and one case with 200 events in its
history (appended through ``api.casefile.history``, hash chain and all). It times what
each page's route does, without HTTP: the view function reading the database (in a new
session) and the Jinja template rendering the result:

- the inbox of ``guichi`` (its 500 open tasks and the others the seed left open);
- the supervisor's dashboard (counts by unit, the rungs of 12 months, and the on-time and
  satisfaction rates of 12 months drawn as SVG);
- the case page of the case with 200 events.

Median of ``--runs`` after one warm-up; it prints the figures and the ratio 100k / 1k,
and asserts no timings.

    .venv/bin/python bench/pages.py
    .venv/bin/python bench/pages.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/pages.py --sizes 1000 10000 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from api.casefile import history  # noqa: E402
from api.config import Settings  # noqa: E402
from api.migrations import migrate  # noqa: E402
from api.pages import supervising, views  # noqa: E402
from api.pages.render import templates  # noqa: E402
from api.units import service as units  # noqa: E402
from api.users.models import Role, User  # noqa: E402
from bench.supervision import (  # noqa: E402
    Seeder,
    analyze,
    insert_rows,
    postgres_engine,
    sqlite_engine,
)

OPEN_TASKS = 500
EVENTS = 200
HANDLER = User(username="guichi", role=Role.HANDLER, unit="guichi", password_hash="")
SUPERVISOR = User(username="supervisor", role=Role.SUPERVISOR, unit="city", password_hash="")
SETTINGS = Settings()


def seed(engine: Engine, n: int, now: datetime, seed_: int) -> str:
    """N complaints, 500 more open tasks for guichi, and the case with 200 events."""
    migrate(engine)
    with Session(engine) as session:
        units.load_org(session=session, path=SETTINGS.org_file)
    seeder = Seeder(n, now, seed_)
    rows = seeder.build()
    for i in range(OPEN_TASKS):
        case = rows.cases[i % len(rows.cases)]
        seeder.task(
            case, "handle", "handler", "guichi", None, now + timedelta(days=i % 60), now, None, True
        )
    insert_rows(engine, rows)
    analyze(engine)
    busy = rows.cases[0]["case_no"]
    with Session(engine) as session:
        for i in range(EVENTS):
            kind = ("status_changed", "deadline_set", "task_opened", "mediation_session")[i % 4]
            history.append(
                session=session,
                case_no=busy,
                actor="guichi",
                type=kind,
                data={"from": "triage", "to": "handling", "name": "handle", "unit": "guichi"},
            )
        session.commit()
    return busy


def pages(busy: str) -> dict[str, Callable[[Session], str]]:
    def inbox(session: Session) -> str:
        rows, count = views.task_rows(session=session, settings=SETTINGS, user=HANDLER)
        return templates.env.get_template("inbox.html").render(
            user=HANDLER, csrf="x", role="承办人", rows=rows, count=count, kind="", state="",
            kinds={}, states=views.STATES, poll_seconds=10, notice="",
        )  # fmt: skip

    def dashboard(session: Session) -> str:
        board = supervising.dashboard(session=session, settings=SETTINGS, user=SUPERVISOR)
        return templates.env.get_template("supervision.html").render(
            user=SUPERVISOR, csrf="x", role="督办人", board=board, rungs=supervising.RUNGS
        )

    def case_page(session: Session) -> str:
        view = views.case_view(session=session, settings=SETTINGS, user=HANDLER, case_no=busy)
        return templates.env.get_template("case.html").render(
            user=HANDLER, csrf="x", role="承办人", view=view, as_of_text="", as_of_error="",
            notice="",
        )  # fmt: skip

    return {"inbox": inbox, "dashboard": dashboard, "case page (200 events)": case_page}


def timed(engine: Engine, render: Callable[[Session], str], runs: int) -> tuple[float, int]:
    with Session(engine) as session:
        size = len(render(session))  # warm-up
    took = []
    for _ in range(runs):
        with Session(engine) as session:
            began = time.perf_counter()
            render(session)
            took.append(time.perf_counter() - began)
    return statistics.median(took), size


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--runs", type=int, default=7)
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
                busy = seed(engine, n, now, args.seed)
                print(f"== {n:,} cases in {where}, seeded in {time.perf_counter() - began:.1f} s")
                results[n] = {}
                for page, render in pages(busy).items():
                    took, size = timed(engine, render, args.runs)
                    results[n][page] = took
                    print(f"   {page}: {took * 1000:.1f} ms ({size:,} bytes of HTML)")
        small, large = min(args.sizes), max(args.sizes)
        for page in results[small]:
            a, b = results[small][page], results[large][page]
            lines.append(
                f"| {name} | {page} | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {b / a:.1f}× |"
            )
    print(f"\n| backend | page | {min(args.sizes):,} cases | {max(args.sizes):,} cases | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
