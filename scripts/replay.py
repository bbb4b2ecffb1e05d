"""Replays case histories against today's workflow code, and reports every nondeterminism.

    .venv/bin/python scripts/replay.py --case TS20261202000001 [--case …]
    .venv/bin/python scripts/replay.py --query "CaseStatus = 'closed'"
    .venv/bin/python scripts/replay.py --closed-from 2026-11-01 --closed-to 2026-12-01
    .venv/bin/python scripts/replay.py --files tests/workflows/histories/*.json

Histories come from the Temporal the settings name (``WEIQUAN_TEMPORAL_ADDRESS``,
``WEIQUAN_TEMPORAL_NAMESPACE``; ``--address`` and ``--namespace`` override), or from JSON
files (exported histories). A case selected by number or by its closing period whose
history Temporal no longer holds (its retention) is read from the application's archive
(``auditarchive``, in the database the settings name); a visibility query selects from
Temporal only. Each is replayed with ``temporalio.worker.Replayer`` against the
current ``ComplaintWorkflow``, ``ReportWorkflow`` and ``MediationWorkflow``. Every history
that no longer replays is printed with its case number, its workflow and the first event
where today's code diverges; the exit status is 1 if there is any, 2 if nothing was
selected, 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client, WorkflowHistory  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.worker import Replayer  # noqa: E402

from api.audit.models import AuditArchive  # noqa: E402
from api.casefile.models import Case  # noqa: E402
from api.config import get_settings  # noqa: E402
from api.db import make_engine  # noqa: E402
from api.workdays import local_midnight  # noqa: E402
from worker import WORKFLOWS  # noqa: E402

TYPES = "WorkflowType IN ('ComplaintWorkflow', 'ReportWorkflow', 'MediationWorkflow')"


@dataclass(frozen=True)
class Divergence:
    workflow_id: str
    case_no: str
    event: int | None  # the first event where today's code diverges, when the error names it
    error: str


@dataclass
class Outcome:
    replayed: int = 0
    seconds: float = 0.0
    divergences: list[Divergence] = field(default_factory=list)


def case_no_of(workflow_id: str) -> str:
    """``complaint-<no>``, ``report-<no>``, ``mediation-<no>-<n>`` → ``<no>``."""
    kind, _, rest = workflow_id.partition("-")
    if kind == "mediation":
        return rest.rsplit("-", 1)[0]
    return rest


async def replay(
    histories: AsyncIterator[WorkflowHistory] | Iterable[WorkflowHistory],
    workflows: Sequence[type] = WORKFLOWS,
) -> Outcome:
    """Replays each history; never stops at the first failure."""
    replayer = Replayer(workflows=list(workflows), data_converter=pydantic_data_converter)
    outcome = Outcome()
    began = time.perf_counter()

    async def each() -> AsyncIterator[WorkflowHistory]:
        if isinstance(histories, AsyncIterator):
            async for history in histories:
                yield history
        else:
            for history in histories:
                yield history

    async for history in each():
        outcome.replayed += 1
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            outcome.divergences.append(
                Divergence(
                    workflow_id=history.workflow_id,
                    case_no=case_no_of(history.workflow_id),
                    event=await first_divergence(replayer, history),
                    error=str(result.replay_failure),
                )
            )
    outcome.seconds = time.perf_counter() - began
    return outcome


async def first_divergence(replayer: Replayer, history: WorkflowHistory) -> int | None:
    """The first event today's code does not reproduce.

    The history is replayed cut after each workflow task's start, growing: a cut replays
    the commands of every task before it. The first cut that fails says the task before it
    decided differently; the diverging event is the first one its commands recorded.
    """
    events = list(history.events)
    starts = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    ]
    previous = None
    for cut in starts:
        prefix = WorkflowHistory(history.workflow_id, events[: cut + 1])
        result = await replayer.replay_workflow(prefix, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            # The task that failed: from the previous cut to this one; its commands' events
            # follow its WORKFLOW_TASK_COMPLETED.
            window = events[(previous or 0) : cut + 1]
            completed = [
                e for e in window if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            ]
            if completed:
                after = next(
                    (e for e in window if e.event_id > completed[-1].event_id), completed[-1]
                )
                return int(after.event_id)
            return int(events[cut].event_id)
        previous = cut
    return None


def from_files(paths: Iterable[Path]) -> list[WorkflowHistory]:
    """Exported histories; the file's name (without ``.json``) is the workflow id, or the
    history's own start event says it."""
    histories = []
    for path in paths:
        histories.append(WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8")))
    return histories


def query_for(
    *,
    cases: Sequence[str] = (),
    query: str | None = None,
    closed_from: date | None = None,
    closed_to: date | None = None,
) -> str:
    """The visibility query that selects the histories asked for."""
    parts = [TYPES]
    if cases:
        listed = ", ".join(f"'{c}'" for c in cases)
        parts.append(f"CaseNo IN ({listed})")
    if query:
        parts.append(f"({query})")
    if closed_from or closed_to:
        parts.append("ExecutionStatus != 'Running'")
    if closed_from:
        parts.append(f"CloseTime >= '{closed_from.isoformat()}T00:00:00+08:00'")
    if closed_to:
        parts.append(f"CloseTime < '{closed_to.isoformat()}T00:00:00+08:00'")
    return " AND ".join(parts)


async def from_temporal(
    client: Client, query: str, seen: set[str] | None = None
) -> AsyncIterator[WorkflowHistory]:
    async for history in client.list_workflows(query).map_histories():
        if seen is not None:
            seen.add(history.workflow_id)
        yield history


def from_archive(
    engine: Engine,
    *,
    cases: Sequence[str] = (),
    closed_from: date | None = None,
    closed_to: date | None = None,
    everything: bool = False,
    skip: set[str] | None = None,
) -> list[WorkflowHistory]:
    """The archived histories of the cases selected (by number, by the day they closed,
    or all), but those in ``skip`` (read from Temporal already)."""
    query = select(AuditArchive).join(Case, col(Case.case_no) == col(AuditArchive.case_no))
    if cases:
        query = query.where(col(AuditArchive.case_no).in_(list(cases)))
    elif not everything and not (closed_from or closed_to):
        return []
    if closed_from:
        query = query.where(col(Case.closed_at) >= local_midnight(closed_from))
    if closed_to:
        query = query.where(col(Case.closed_at) < local_midnight(closed_to))
    with Session(engine) as session:
        rows = session.exec(query.order_by(col(AuditArchive.id))).all()
        return [
            WorkflowHistory.from_json(row.workflow_id, row.history)
            for row in rows
            if row.workflow_id not in (skip or set())
        ]


async def selected(
    client: Client, engine: Engine | None, query: str, args: argparse.Namespace
) -> AsyncIterator[WorkflowHistory]:
    """What Temporal holds of the selection, then what only the archive still has."""
    seen: set[str] = set()
    async for history in from_temporal(client, query, seen):
        yield history
    if engine is None or args.query:
        return
    archived = await asyncio.to_thread(
        from_archive,
        engine,
        cases=args.case,
        closed_from=args.closed_from,
        closed_to=args.closed_to,
        everything=args.all,
        skip=seen,
    )
    for history in archived:
        yield history


def report(outcome: Outcome) -> int:
    for each in outcome.divergences:
        at = f"event {each.event}" if each.event is not None else "event unknown"
        print(f"NONDETERMINISTIC case {each.case_no} ({each.workflow_id}), {at}: {each.error}")
    rate = outcome.replayed / outcome.seconds if outcome.seconds else 0.0
    print(
        f"replayed {outcome.replayed} histories in {outcome.seconds:.2f} s "
        f"({rate:.1f} per second): {len(outcome.divergences)} nondeterministic"
    )
    if outcome.replayed == 0:
        return 2
    return 1 if outcome.divergences else 0


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", default=[], help="a case number")
    parser.add_argument("--query", help="a visibility query, e.g. CaseStatus = 'closed'")
    parser.add_argument("--closed-from", type=date.fromisoformat, help="first day (closed)")
    parser.add_argument("--closed-to", type=date.fromisoformat, help="the day after the last")
    parser.add_argument("--all", action="store_true", help="every case workflow")
    parser.add_argument("--files", nargs="+", type=Path, help="exported history files")
    parser.add_argument("--address", help="Temporal's address (default: the settings')")
    parser.add_argument("--namespace", help="Temporal's namespace (default: the settings')")
    args = parser.parse_args(argv)
    if args.files:
        return report(await replay(from_files(args.files)))
    if not (args.case or args.query or args.closed_from or args.closed_to or args.all):
        parser.error("say which histories: --case, --query, --closed-from/--closed-to, --all")
    settings = get_settings()
    client = await Client.connect(
        args.address or settings.effective_temporal_address,
        namespace=args.namespace or settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
    query = query_for(
        cases=args.case,
        query=args.query,
        closed_from=args.closed_from,
        closed_to=args.closed_to,
    )
    engine = make_engine(settings)
    try:
        return report(await replay(selected(client, engine, query, args)))
    finally:
        engine.dispose()


def run(argv: Sequence[str] | None = None) -> Any:
    return asyncio.run(main(argv))


if __name__ == "__main__":
    sys.exit(run())
