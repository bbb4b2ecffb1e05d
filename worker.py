"""Runs the case workflows and their activities against the configured Temporal."""

import asyncio
import compileall
import logging
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

from activities.cases import CaseActivities, service_client
from api import logs, tracing
from api.config import Settings, get_settings, refusal
from api.temporal import connect, metrics_runtime
from api.tracing import Tracing
from workflows import bulletin, duty
from workflows.audit import SCHEDULE_ID, AuditCheckpointWorkflow
from workflows.bulletin import BulletinWorkflow, MonthlyBulletin
from workflows.complaint import ComplaintWorkflow
from workflows.duty import DutyWorkflow, YearlyCampaigns, YearlyDemonstrations
from workflows.mediation import MediationWorkflow
from workflows.report import ReportWorkflow

log = logging.getLogger("weiquan.worker")

WORKFLOWS = [
    ComplaintWorkflow,
    MediationWorkflow,
    ReportWorkflow,
    AuditCheckpointWorkflow,
    BulletinWorkflow,
    MonthlyBulletin,
    DutyWorkflow,
    YearlyDemonstrations,
    YearlyCampaigns,
]


class _ActivityIds(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        ids = {"workflow_id": info.workflow_id or "", "activity_type": info.activity_type}
        case_no = getattr(input.args[0], "case_no", None) if input.args else None
        if isinstance(case_no, str) and case_no:
            ids["case_no"] = case_no
        with logs.bound(**ids):
            return await super().execute_activity(input)


class LogIds(Interceptor):
    """Every line an activity logs (the SDK's, on a failed attempt, included) carries its
    workflow's id and its case number."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityIds(next)


def build_worker(client: Client, settings: Settings, activities: CaseActivities) -> Worker:
    return Worker(
        client,
        interceptors=[LogIds()],
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            activities.record_step,
            activities.open_incident,
            activities.resolve_incident,
            activities.take_checkpoint,
            activities.archive_histories,
            activities.open_bulletin,
            activities.open_demonstrations,
            activities.open_campaigns,
        ],
        # A step in flight when the worker stops is let finish (it takes milliseconds)
        # rather than cancelled half-way through its HTTP call to the API.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
        max_cached_workflows=settings.worker_max_cached_workflows,
    )


async def ensure_checkpoint_schedule(client: Client, settings: Settings) -> None:
    """The daily audit checkpoint's Schedule, at the configured hour (Asia/Shanghai): made
    once, and brought to the configuration at every worker start."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            AuditCheckpointWorkflow.run, id=SCHEDULE_ID, task_queue=settings.task_queue
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(settings.audit_checkpoint_hour)],
                    minute=[ScheduleRange(settings.audit_checkpoint_minute)],
                )
            ],
            time_zone_name="Asia/Shanghai",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )
    await _ensure_schedule(client, SCHEDULE_ID, schedule)


def _calendar_schedule(
    settings: Settings,
    run: Any,
    schedule_id: str,
    calendar: ScheduleCalendarSpec,
    catchup_days: int,
) -> Schedule:
    """A Schedule on a calendar (Asia/Shanghai) that starts ``run``. Runs missed while the
    service was down are each caught up within ``catchup_days``, in order (one at a time),
    and each opens its own period once."""
    return Schedule(
        action=ScheduleActionStartWorkflow(run, id=schedule_id, task_queue=settings.task_queue),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name="Asia/Shanghai"),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.BUFFER_ALL,
            catchup_window=timedelta(days=catchup_days),
        ),
    )


def bulletin_schedule(settings: Settings) -> Schedule:
    """The monthly bulletin's Schedule: the 1st of each month at the configured hour,
    caught up within ``bulletin_catchup_days``."""
    return _calendar_schedule(
        settings,
        MonthlyBulletin.run,
        bulletin.schedule_id(settings.case_no_prefix),
        ScheduleCalendarSpec(
            day_of_month=[ScheduleRange(1)],
            hour=[ScheduleRange(settings.bulletin_hour)],
            minute=[ScheduleRange(settings.bulletin_minute)],
        ),
        settings.bulletin_catchup_days,
    )


async def ensure_bulletin_schedule(client: Client, settings: Settings) -> None:
    """The monthly bulletin's Schedule: made once, brought to the configuration at every
    worker start."""
    await _ensure_schedule(
        client, bulletin.schedule_id(settings.case_no_prefix), bulletin_schedule(settings)
    )


def _january(settings: Settings, day: int) -> ScheduleCalendarSpec:
    return ScheduleCalendarSpec(
        month=[ScheduleRange(1)],
        day_of_month=[ScheduleRange(day)],
        hour=[ScheduleRange(settings.bulletin_hour)],
        minute=[ScheduleRange(settings.bulletin_minute)],
    )


def demonstration_schedule(settings: Settings) -> Schedule:
    """The demonstration sites' Schedule: each January on ``demonstration_open_day`` at
    ``bulletin_hour``, every branch is given its list to name; caught up within
    ``demonstration_catchup_days``."""
    return _calendar_schedule(
        settings,
        YearlyDemonstrations.run,
        duty.schedule_id(settings.case_no_prefix),
        _january(settings, settings.demonstration_open_day),
        settings.demonstration_catchup_days,
    )


async def ensure_demonstration_schedule(client: Client, settings: Settings) -> None:
    """The demonstration sites' Schedule: made once, brought to the configuration at every
    worker start."""
    await _ensure_schedule(
        client, duty.schedule_id(settings.case_no_prefix), demonstration_schedule(settings)
    )


def campaigns_schedule(settings: Settings) -> Schedule:
    """The campaigns' Schedule: each 1 January at ``bulletin_hour``, the file of every
    campaign running in the year is opened; caught up within
    ``demonstration_catchup_days``."""
    return _calendar_schedule(
        settings,
        YearlyCampaigns.run,
        duty.schedule_id(settings.case_no_prefix, duty.CAMPAIGNS_SCHEDULE_ID),
        _january(settings, 1),
        settings.demonstration_catchup_days,
    )


async def ensure_campaigns_schedule(client: Client, settings: Settings) -> None:
    """The campaigns' Schedule: made once, brought to the configuration at every start."""
    await _ensure_schedule(
        client,
        duty.schedule_id(settings.case_no_prefix, duty.CAMPAIGNS_SCHEDULE_ID),
        campaigns_schedule(settings),
    )


async def _ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(schedule_id).update(
            lambda _: ScheduleUpdate(schedule=schedule)
        )


async def connect_with_retry(
    settings: Settings, attempts: int = 60, traces: Tracing | None = None
) -> Client:
    # The SDK's core logs as JSON lines, and its metrics for Prometheus when an address
    # is configured.
    runtime = metrics_runtime(settings.worker_metrics_address or None)
    for attempt in range(1, attempts + 1):
        try:
            return await connect(settings, runtime, traces)
        except Exception as error:
            if attempt == attempts:
                raise
            log.warning(
                "Temporal at %s not reachable yet (%s); retrying",
                settings.effective_temporal_address,
                error,
            )
            await asyncio.sleep(1)
    raise RuntimeError("unreachable")


def compile_workflows() -> None:
    """The sandbox runs the workflow modules anew for every workflow it creates (a case, a
    mediation, each after an eviction). Their bytecode written once, that is a read of a
    cached file each time, not a compile of the source, where nothing wrote it before
    (``PYTHONDONTWRITEBYTECODE``, as this machine and the image set it; the image compiles
    it at build). Best effort: a read-only tree only costs the compiles."""
    compileall.compile_dir(Path(__file__).parent / "workflows", quiet=2)


async def main() -> int:
    logs.configure("worker")
    try:
        settings = get_settings()
    except ValidationError as error:
        log.error("the settings are refused: %s", refusal(error))
        return 1
    compile_workflows()
    traces = tracing.start(settings, "worker")
    client = await connect_with_retry(settings, traces=traces)
    await ensure_checkpoint_schedule(client, settings)
    await ensure_bulletin_schedule(client, settings)
    await ensure_demonstration_schedule(client, settings)
    await ensure_campaigns_schedule(client, settings)
    async with service_client(
        settings.effective_api_url, settings.service_token, traced=traces is not None
    ) as http:
        worker = build_worker(client, settings, CaseActivities(http))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "worker on task queue %s at %s",
            settings.task_queue,
            settings.effective_temporal_address,
        )
        async with worker:
            await stop.wait()
        log.info("worker stopped")
    if traces is not None:
        traces.shutdown()  # the spans still in its batch
    return 0


if __name__ == "__main__":
    logs.exit_now(asyncio.run(main()))
