"""What each step of a complaint's lifecycle costs in the API, in process: CPU, wall time
and SQL statements, on SQLite or PostgreSQL.

It drives the lifecycle that ``bench/lifecycle.py`` drives (triage accept → handling
agreement at the first rung → callback reached) without Temporal or HTTP: it registers
the complaint as ``POST /cases`` does (its first step, ``open_triage``, included), and
for each later step it stores the person's decision as the completion route does
(``api.process``'s one trip: the checks, then the submission), then applies the step as
the workflow's ``record_step`` activity would (``api.internal.engine.apply``, with the
input the workflows send). Before applying a step for good, it applies it ``--runs``
times, each in a transaction it rolls back, and times those: the median CPU (process
time) and wall time of the step's context and the step, without its commit. Statements are
counted as ``/metrics`` counts them.

    .venv/bin/python bench/steps.py                       # SQLite, 300 runs a step
    .venv/bin/python bench/steps.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/steps.py --profile /tmp/steps  # a cProfile of each step's runs

It asserts no timings. See bench/README.md, "``steps.py``".
"""

from __future__ import annotations

import argparse
import cProfile
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, col, select  # noqa: E402

from api import metrics, process  # noqa: E402
from api.cases import registration  # noqa: E402
from api.cases.models import CaseCreate  # noqa: E402
from api.config import Settings  # noqa: E402
from api.db import make_engine  # noqa: E402
from api.inbox import service as inbox  # noqa: E402
from api.internal import engine as steps  # noqa: E402
from api.main import prepare_database  # noqa: E402
from api.tasks.models import ACTIVE, Task  # noqa: E402
from api.users import service as users  # noqa: E402
from tests.factories import complaint  # noqa: E402
from workflows.messages import RecordStepInput, StepName  # noqa: E402


@dataclass(frozen=True)
class Move:
    """A person's decision on the case's open task of ``kind``, and the step the workflow
    records for it (``key`` and ``mediation``/``concludes`` as the workflows send them)."""

    kind: str
    user: str
    body: dict[str, Any]
    step: StepName
    key: str
    mediation: int | None = None
    concludes: bool = False


LIFECYCLE = [
    Move("triage", "operator", {"decision": "accept", "unit": "guichi"}, "triage", "2:triage"),
    # The mediation's workflow records it: the ladder's only rung ends with an agreement,
    # which concludes the complaint in the same step.
    Move(
        "handle",
        "guichi",
        {"outcome": "agreement", "summary": "和解", "reply": "已和解"},
        "complete_task",
        "m1.1:complete_task",
        mediation=1,
        concludes=True,
    ),
    Move(
        "callback",
        "operator",
        {"reached": True, "satisfaction": "satisfied"},
        "callback",
        "3:callback",
    ),
]


@dataclass
class Figures:
    step: str
    statements: int
    cpu_ms: float
    wall_ms: float


@contextmanager
def database(postgres: str | None) -> Iterator[Settings]:
    """Settings for a new SQLite file, or a new PostgreSQL schema; removed afterwards."""
    if postgres is None:
        tmp = Path(tempfile.mkdtemp(prefix="weiquan-bench-steps-"))
        try:
            yield Settings(data_dir=tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    schema = f"bench_steps_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Settings(database_url=postgres, database_schema=schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def register(db: Any, settings: Settings) -> str:
    with Session(db, expire_on_commit=False) as session:
        user = users.get_by_username(session=session, username="operator")
        assert user is not None
        done = registration.register(
            session=session,
            settings=settings,
            user=user,
            body=CaseCreate.model_validate(complaint()),
            steps=steps,
        )
        process.started(session=session, case_nos=[done.case_no])
        return done.case_no


def decided(db: Any, settings: Settings, case_no: str, move: Move) -> RecordStepInput:
    """Stores the decision on the case's open task of the move's kind, as the completion
    route does; the step's input, as the workflow sends it."""
    with Session(db, expire_on_commit=False) as session:
        task = session.exec(
            select(Task).where(
                Task.case_no == case_no, Task.kind == move.kind, col(Task.status).in_(ACTIVE)
            )
        ).one()
        user = users.get_by_username(session=session, username=move.user)
        assert user is not None and task.id is not None
        decide = partial(
            inbox.completion, settings=settings, user=user, task_id=task.id, body=move.body
        )
        prepared = process.prepare(session=session, decide=decide)
        assert prepared.submission is not None, "an earlier decision is unsettled"
        return RecordStepInput(
            case_no=case_no,
            key=move.key,
            step=move.step,
            task_id=task.id,
            submission_id=prepared.submission.id,
            mediation=move.mediation,
            mediation_ladder=move.mediation is None,
            concludes=move.concludes,
        )


def measured(
    db: Any, settings: Settings, input: RecordStepInput, runs: int, profile: Path | None
) -> Figures:
    """The step applied ``runs`` times (after a few to warm up), each rolled back; then
    once for good."""

    def once() -> int:
        with Session(db, expire_on_commit=False) as session, metrics.statements() as found:
            ctx = steps.context(session=session, settings=settings)
            steps.apply(ctx=ctx, input=input, commit=False)
            session.rollback()
        return found[0]

    for _ in range(5):
        once()
    cpu, wall, counted = [], [], 0
    profiler = cProfile.Profile() if profile else None
    for _ in range(runs):
        if profiler:
            profiler.enable()
        started, started_cpu = time.perf_counter(), time.process_time()
        counted = once()
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
        if profiler:
            profiler.disable()
    if profiler and profile:
        profile.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(profile / f"{input.step}.prof")
    with Session(db, expire_on_commit=False) as session:
        steps.apply(ctx=steps.context(session=session, settings=settings), input=input)
    return Figures(
        input.step, counted, statistics.median(cpu) * 1000, statistics.median(wall) * 1000
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="timed runs a step (default 300)")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to use")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="write cProfile files here")
    args = parser.parse_args()
    with database(args.postgres) as settings:
        db = make_engine(settings)
        try:
            prepare_database(db, settings)
            register(db, settings)  # the calendar and the rule sets read once, as in a day's work
            case_no = register(db, settings)
            found = [
                measured(
                    db, settings, decided(db, settings, case_no, move), args.runs, args.profile
                )
                for move in LIFECYCLE
            ]
        finally:
            db.dispose()
    backend = "postgresql" if args.postgres else "sqlite"
    print(f"{backend}, median of {args.runs} runs a step, rolled back, without the commit")
    print(f"{'step':<15}{'statements':>11}{'CPU ms':>9}{'wall ms':>9}")
    for f in found:
        print(f"{f.step:<15}{f.statements:>11}{f.cpu_ms:>9.2f}{f.wall_ms:>9.2f}")
    print(
        f"{'in all':<15}{sum(f.statements for f in found):>11}"
        f"{sum(f.cpu_ms for f in found):>9.2f}{sum(f.wall_ms for f in found):>9.2f}"
    )


if __name__ == "__main__":
    main()
