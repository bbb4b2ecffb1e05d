"""The supervision views at 1,000 and at 100,000 cases: indexed queries, or scans?

Seeds N complaints spread over the last 12 months and the 6 branches, with their deadlines
(triage, handle, callback), tasks and supervision records, straight into a fresh database
through SQLModel's tables (bulk ``executemany``, no API, no Temporal), after creating the
schema with the alembic migrations (``api.migrations.migrate``). Then it times the service
functions behind ``GET /supervision/overdue`` and ``GET /supervision/stats`` (median of
``--runs`` runs after one warm-up) and prints the figures, the ratio 100k / 1k and the
query plans (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL).

The schema is the one the migrations build, indexes included (migration 0004 added the
ones this bench first proposed).

    .venv/bin/python bench/supervision.py                       # SQLite, 1,000 and 100,000
    .venv/bin/python bench/supervision.py --postgres postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/supervision.py --sizes 1000 10000 --runs 5 --plans none

SQLite goes to a new temp dir (removed afterwards unless ``--keep``); PostgreSQL to a new
schema ``bench_sup_<hex>`` (dropped afterwards). It asserts no timings.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from api.casefile.models import Case  # noqa: E402
from api.config import Settings  # noqa: E402
from api.db import make_engine  # noqa: E402
from api.deadlines.models import Deadline  # noqa: E402
from api.migrations import migrate  # noqa: E402
from api.supervision import service as supervision  # noqa: E402
from api.supervision.models import SupervisionRecord  # noqa: E402
from api.tasks.models import Task  # noqa: E402
from api.units import service as units  # noqa: E402
from api.workdays import WorkingCalendar, deadline_instant, local_date  # noqa: E402

# Branches and their share of the cases (the city district gets the most).
BRANCHES = {
    "guichi": 0.34,
    "dongzhi": 0.18,
    "qingyang": 0.16,
    "shitai": 0.08,
    "jiuhuashan": 0.10,
    "kaifaqu": 0.14,
}
CITY = "city"
LATE_SHARE = 0.05  # of the deadlines, the share missed (met late, or still open and overdue)
SATISFACTION = {
    "satisfied": 0.70,
    "basically_satisfied": 0.15,
    "unsatisfied": 0.07,
    "unreachable": 0.08,
}
RULE_SET = "samr-order-20"
BATCH = 5_000

_deadline = Deadline.__table__.c  # type: ignore[attr-defined]
_case = Case.__table__.c  # type: ignore[attr-defined]

# --- the data ----------------------------------------------------------------------------


@dataclass
class Rows:
    cases: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)


class Seeder:
    """Builds the rows of N complaint lifecycles as the workflow would have left them."""

    def __init__(self, n: int, now: datetime, seed: int) -> None:
        self.n = n
        self.now = now
        self.rng = random.Random(seed)
        self.calendar = WorkingCalendar()
        self._due: dict[tuple[date, int], date] = {}
        self.rows = Rows()

    def due(self, start: datetime, working_days: int) -> date:
        key = (local_date(start), working_days)
        if key not in self._due:
            self._due[key] = self.calendar.add_working_days(key[0], working_days).end
        return self._due[key]

    def build(self) -> Rows:
        units = list(BRANCHES)
        weights = list(BRANCHES.values())
        for i in range(1, self.n + 1):
            received = self.now - timedelta(seconds=self.rng.uniform(0, 365 * 86400))
            self.case(i, received, self.rng.choices(units, weights)[0])
        return self.rows

    def case(self, i: int, received: datetime, unit: str) -> None:
        row: dict[str, Any] = {
            "id": i,
            "case_no": f"TS{received:%Y%m%d}{i:07d}",
            "kind": "complaint",
            "channel": "hotline",
            "status": "triage",
            "unit": None,
            "suggested_unit": unit,
            "received_at": received,
            "registered_at": received,
            "registered_by": "operator",
            "registered_unit": CITY,
            "rule_set": RULE_SET,
            "category": "家用电器",
            "description": "购买的冰箱三天后不制冷，商家拒绝退货。",
            "claim": "退货退款",
            "complainant": {"name": "张三", "phone": "13800000000"},
            "respondent": {"name": "某某家电商场", "district": "贵池区"},
            "client_ref": None,
            "overdue": False,
            "outcome": None,
            "satisfaction": None,
            "closed_at": None,
        }
        self.rows.cases.append(row)
        # 受理审查: 7 working days from receipt, by the centre.
        done = self.step(row, "triage", "operator", CITY, received, 7, days=(0.1, 6))
        if done is None:
            return
        if self.rng.random() < 0.08:  # rejected or referred
            row.update(status="rejected", outcome="rejected", closed_at=done)
            return
        row.update(status="handling", unit=unit)
        # 处理: 45 working days from acceptance, by the branch.
        done = self.step(row, "handle", unit, unit, done, 45, days=(3, 60))
        if done is None:
            return
        row.update(status="replied", outcome="agreement")
        # 回访: 5 working days from the reply, by the centre.
        done = self.step(row, "callback", "operator", CITY, done, 5, days=(0.2, 6))
        if done is None:
            return
        satisfaction = self.rng.choices(list(SATISFACTION), list(SATISFACTION.values()))[0]
        row.update(status="closed", satisfaction=satisfaction, closed_at=done)

    def step(
        self,
        case: dict[str, Any],
        name: str,
        assignee: str,
        unit: str,
        start: datetime,
        working_days: int,
        days: tuple[float, float],
    ) -> datetime | None:
        """Opens the deadline and its task; the step's end, or None if it is still open."""
        rng = self.rng
        due_date = self.due(start, working_days)
        due_at = deadline_instant(due_date).astimezone(UTC)
        if rng.random() < LATE_SHARE:
            end = due_at + timedelta(days=rng.uniform(0.5, 15))
        else:
            end = min(start + timedelta(days=rng.uniform(*days)), due_at - timedelta(hours=1))
        deadline_id = len(self.rows.deadlines) + 1
        still_open = end > self.now
        overdue = due_at <= (self.now if still_open else end)
        self.rows.deadlines.append(
            {
                "id": deadline_id,
                "case_no": case["case_no"],
                "name": name,
                "unit": unit,
                "extended_working_days": 0,
                "paused_working_days": 0,
                "fixed": False,
                "warn_at": None,
                "notice_at": None,
                "criticise_at": None,
                "rungs": [],
                "started_on": local_date(start),
                "working_days": working_days,
                "calendar_days": None,
                "due_date": due_date,
                "due_at": due_at,
                "provisional": False,
                "state": "overdue" if overdue else ("pending" if still_open else "met"),
                "rule_set": RULE_SET,
                "met_at": None if still_open else end,
                "overdue_at": due_at if overdue else None,
            }
        )
        role = "handler" if name == "handle" else "operator"
        task = self.task(case, name, role, unit, deadline_id, due_at, start, end, still_open)
        if name == "handle":
            task["assignee"] = assignee
        if overdue:
            case["overdue"] = case["overdue"] or still_open
            self.ladder(case, name, unit, assignee, deadline_id, due_at, end)
            if still_open:
                supervise = self.task(
                    case, "supervise", "supervisor", CITY, deadline_id, None, due_at, None, True
                )
                supervise["context"] = {"deadline": name, "unit": unit}
        elif rng.random() < 0.2 and due_at - timedelta(days=3) < min(end, self.now):
            self.record(case, "warning", unit, name, deadline_id, due_at - timedelta(days=3))
        return None if still_open else end

    def task(
        self,
        case: dict[str, Any],
        kind: str,
        role: str,
        unit: str,
        deadline_id: int | None,
        due_at: datetime | None,
        created: datetime,
        completed: datetime | None,
        still_open: bool,
    ) -> dict[str, Any]:
        row = {
            "id": len(self.rows.tasks) + 1,
            "case_no": case["case_no"],
            "kind": kind,
            "role": role,
            "unit": unit,
            "assignee": None,
            "status": "open" if still_open else "done",
            "deadline_id": deadline_id,
            "due_at": due_at,
            "created_at": created,
            "completed_at": None if still_open else completed,
            "completed_by": None if still_open else role,
            "context": {},
            "result": None,
        }
        self.rows.tasks.append(row)
        return row

    def ladder(
        self,
        case: dict[str, Any],
        name: str,
        unit: str,
        handler: str,
        deadline_id: int,
        due_at: datetime,
        end: datetime,
    ) -> None:
        """超期 at once; 催办通知书 a day on; 通报批评 and 责任追究 a week on."""
        rungs = [(0, "overdue"), (1, "notice"), (7, "criticism"), (7, "accountability")]
        for days, kind in rungs:
            at = due_at + timedelta(days=days)
            if at < min(end, self.now):
                self.record(case, kind, unit, name, deadline_id, at, handler)

    def record(
        self,
        case: dict[str, Any],
        kind: str,
        unit: str,
        name: str,
        deadline_id: int,
        at: datetime,
        handler: str | None = None,
    ) -> None:
        self.rows.records.append(
            {
                "id": len(self.rows.records) + 1,
                "case_no": case["case_no"],
                "deadline_id": deadline_id,
                "deadline": name,
                "unit": unit,
                "kind": kind,
                "at": at,
                "handler": handler,
                "by": "system",
            }
        )


def insert_rows(engine: Engine, rows: Rows) -> None:
    with engine.begin() as connection:
        for model, data in (
            (Case, rows.cases),
            (Deadline, rows.deadlines),
            (Task, rows.tasks),
            (SupervisionRecord, rows.records),
        ):
            table = model.__table__  # type: ignore[union-attr]
            for i in range(0, len(data), BATCH):
                connection.execute(insert(table), data[i : i + BATCH])


# --- databases ---------------------------------------------------------------------------


@contextmanager
def sqlite_engine(keep: bool) -> Iterator[tuple[Engine, str]]:
    tmp = Path(tempfile.mkdtemp(prefix="weiquan-bench-supervision-"))
    engine = make_engine(Settings(data_dir=tmp))
    try:
        yield engine, str(tmp / "weiquan.db")
    finally:
        engine.dispose()
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def postgres_engine(url: str) -> Iterator[tuple[Engine, str]]:
    schema = f"bench_sup_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(Settings(database_url=url, database_schema=schema))
    try:
        yield engine, f"schema {schema}"
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --- timing and plans --------------------------------------------------------------------


@dataclass
class Query:
    label: str
    run: Callable[[Session], Any]


def queries(now: datetime) -> list[Query]:
    today = local_date(now)
    calendar = WorkingCalendar()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month = (last_month_end.replace(day=1), last_month_end)
    year = (today - timedelta(days=365), today)

    def overdue(unit: str | None) -> Callable[[Session], Any]:
        return lambda s: supervision.overdue(
            session=s, calendar=calendar, unit=unit, today=today, limit=100, offset=0
        )

    def stats(period: tuple[date, date]) -> Callable[[Session], Any]:
        return lambda s: supervision.stats(session=s, unit=None, start=period[0], end=period[1])

    return [
        Query("overdue, all units (page of 100)", overdue(None)),
        Query("overdue, unit=guichi", overdue("guichi")),
        Query("stats, last month", stats(last_month)),
        Query("stats, last 366 days", stats(year)),
    ]


def timed(engine: Engine, query: Query, runs: int) -> tuple[float, Any]:
    samples = []
    result = None
    for i in range(runs + 1):
        with Session(engine) as session:
            started = time.perf_counter()
            result = query.run(session)
            elapsed = time.perf_counter() - started
        if i:  # the first run warms the caches
            samples.append(elapsed)
    return statistics.median(samples), result


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plans(engine: Engine, query: Query) -> list[str]:
    with captured(engine) as statements, Session(engine) as session:
        query.run(session)
    out = []
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            out.append(f"  -- {' '.join(statement.split())[:110]}…")
            if sqlite:
                rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                out.extend(f"    {row[-1]}" for row in rows)
            else:
                rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
                # The task lookup's plan spells out 100 case numbers: keep its lines short.
                out.extend(f"    {row[0][:160]}" for row in rows)
    return out


def measure(engine: Engine, now: datetime, runs: int, show_plans: bool) -> dict[str, float]:
    figures = {}
    for query in queries(now):
        seconds, result = timed(engine, query, runs)
        if hasattr(result, "count"):
            what = f"count {result.count}"
        else:
            what = f"received {sum(u.received for u in result.data)}"
        figures[query.label] = seconds
        print(f"    {query.label:<36} {seconds * 1000:9.2f} ms   ({what})")
        if show_plans:
            print("\n".join(plans(engine, query)))
    return figures


def analyze(engine: Engine) -> None:
    """What PostgreSQL's autovacuum does to a table in use: statistics and visibility map
    (without the latter no index-only scan pays off). Nothing runs ANALYZE on SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))


def run_size(
    make: Callable[[], Any], n: int, now: datetime, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    with make() as (engine, where):
        started = time.perf_counter()
        migrate(engine)
        with Session(engine) as session:
            units.load_org(session=session, path=Settings().org_file)
        rows = Seeder(n, now, args.seed).build()
        built = time.perf_counter()
        insert_rows(engine, rows)
        analyze(engine)
        seeded = time.perf_counter()
        missed = [d for d in rows.deadlines if d["state"] == "overdue"]
        print(
            f"\n== {n:,} cases in {where}: {len(rows.deadlines):,} deadlines "
            f"({sum(d['met_at'] is None for d in missed):,} open and overdue, "
            f"{len(missed):,} missed in all), {len(rows.tasks):,} tasks, "
            f"{len(rows.records):,} supervision records; "
            f"built in {built - started:.1f} s, inserted in {seeded - built:.1f} s"
        )
        show = args.plans == "all" or (args.plans == "largest" and n == max(args.sizes))
        return {"migrated": measure(engine, now, args.runs, show)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query (median)")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL at URL")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--plans", choices=["none", "largest", "all"], default="largest")
    parser.add_argument("--seed", type=int, default=12315)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    args = parser.parse_args()
    now = datetime.now(UTC)
    backends: list[tuple[str, Callable[[], Any]]] = []
    if not args.no_sqlite:
        backends.append(("sqlite", lambda: sqlite_engine(args.keep)))
    if args.postgres:
        url = args.postgres
        backends.append(("postgresql", lambda: postgres_engine(url)))
    small, large = min(args.sizes), max(args.sizes)
    summary = []
    for name, make in backends:
        results = {n: run_size(make, n, now, args) for n in args.sizes}
        for label, a in results[small]["migrated"].items():
            b = results[large]["migrated"][label]
            summary.append(
                f"| {name} | {label} | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {b / a:.0f}× |"
            )
    print(f"\n| backend | query | {small:,} cases | {large:,} cases | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
