"""The activities of the case workflows: thin calls to the API's internal routes."""

import httpx
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.messages import (
    ArchiveResult,
    BulletinOpen,
    BulletinOpened,
    CampaignsOpen,
    CampaignsOpened,
    CheckpointInput,
    CheckpointResult,
    DemonstrationOpen,
    DemonstrationOpened,
    IncidentInput,
    IncidentResult,
    RecordStepInput,
    StepResult,
)

W3C = TraceContextTextMapPropagator()


class CaseActivities:
    """Built once per worker with an ``httpx.AsyncClient`` that carries the service token.

    The API applies each step's ``key`` once, so a retried activity changes nothing.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @activity.defn(name="record_step")
    async def record_step(self, input: RecordStepInput) -> StepResult:
        response = await self._client.post(
            f"/internal/v1/cases/{input.case_no}/steps", json=input.model_dump(mode="json")
        )
        if response.status_code >= 400:
            # Retried with backoff: a refused step is a defect to fix in the API, and the
            # case must resume once it is fixed rather than fail for good.
            raise ApplicationError(
                f"API refused step {input.step} of {input.case_no}: "
                f"{response.status_code} {response.text[:500]}",
                type="StepRefused",
            )
        return StepResult.model_validate(response.json())

    @activity.defn(name="open_incident")
    async def open_incident(self, input: IncidentInput) -> IncidentResult:
        """Puts a step that failed every attempt on record (once per step key)."""
        return IncidentResult.model_validate(
            await self._post(
                f"/internal/v1/cases/{input.case_no}/incidents", input.model_dump(mode="json")
            )
        )

    @activity.defn(name="resolve_incident")
    async def resolve_incident(self, input: IncidentResult) -> None:
        """The step went through at last: its incident is resolved."""
        await self._post(f"/internal/v1/cases/{input.case_no}/incidents/{input.id}/resolve", {})

    @activity.defn(name="archive_histories")
    async def archive_histories(self) -> ArchiveResult:
        """The API archives the histories of closed cases (a batch; each case once)."""
        return ArchiveResult.model_validate(await self._post("/internal/v1/audit/archive", {}))

    @activity.defn(name="open_bulletin")
    async def open_bulletin(self, input: BulletinOpen) -> BulletinOpened:
        """The API opens the month's bulletin, once per month (the first one opened is
        the answer to every run that asks again)."""
        return BulletinOpened.model_validate(
            await self._post("/internal/v1/bulletins", input.model_dump(mode="json"))
        )

    @activity.defn(name="open_demonstrations")
    async def open_demonstrations(self, input: DemonstrationOpen) -> DemonstrationOpened:
        """The API opens every branch's demonstration-site list of the year, once per
        branch (those opened before are in the answer again)."""
        return DemonstrationOpened.model_validate(
            await self._post("/internal/v1/demonstrations", input.model_dump(mode="json"))
        )

    @activity.defn(name="open_campaigns")
    async def open_campaigns(self, input: CampaignsOpen) -> CampaignsOpened:
        """The API opens the file of every campaign running in the year, once each."""
        return CampaignsOpened.model_validate(
            await self._post("/internal/v1/campaigns", input.model_dump(mode="json"))
        )

    @activity.defn(name="take_checkpoint")
    async def take_checkpoint(self, input: CheckpointInput) -> CheckpointResult:
        """The API takes the audit checkpoint (once per key) and returns its signed root."""
        return CheckpointResult.model_validate(
            await self._post("/internal/v1/audit/checkpoints", input.model_dump(mode="json"))
        )

    async def _post(self, url: str, body: dict[str, object]) -> object:
        response = await self._client.post(url, json=body)
        if response.status_code >= 400:
            raise ApplicationError(
                f"API refused {url}: {response.status_code} {response.text[:500]}",
                type="StepRefused",
            )
        return response.json() if response.content else None


async def traceparent(request: httpx.Request) -> None:
    """The activity's trace goes with its call (the W3C ``traceparent`` header), so the
    API's spans of the step join it (docs/production.md, "Traces")."""
    W3C.inject(request.headers)


def service_client(base_url: str, service_token: str, *, traced: bool = False) -> httpx.AsyncClient:
    """``traced``: each call carries the trace of the activity that makes it."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {service_token}"},
        timeout=httpx.Timeout(20.0),
        event_hooks={"request": [traceparent]} if traced else None,
    )
