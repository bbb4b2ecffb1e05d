"""Traces (OpenTelemetry): one trace for a clerk's decision, from the HTTP request through
the workflow's update and the activity that applies it to the step the API records
(docs/production.md, "Traces").

Off unless ``WEIQUAN_OTEL_EXPORTER`` names an exporter, and then installed once (the API's
middleware, the Temporal clients' interceptor, the activities' ``traceparent``), never
checked per request: off, nothing of it runs. The process keeps its own tracer provider,
not OpenTelemetry's global one, so no library traces on its own behalf (FastAPI's built-in
telemetry would record the query string) and tests keep theirs apart.

Never a name, a phone, an address or free text: spans are named by route templates,
Temporal's workflow, update and activity names and the step's, and every span leaves the
process through ``Private``, which keeps only the attributes listed here (an error's
exception type, never its message, which can quote what the API answered)."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import opentelemetry.context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.worker import (
    HandleUpdateInput,
    StartActivityInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from api import logs
from api.config import Settings
from api.metrics import template

# What a span may carry out of the process; anything else is dropped on the way.
SPAN_ATTRIBUTES = frozenset(
    {
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "error.type",
        # Temporal's interceptor: ids only (workflow ids are built from case numbers)
        "temporalWorkflowID",
        "temporalRunID",
        "temporalActivityID",
        "temporalUpdateID",
        "weiquan.case_no",
        "weiquan.step",
    }
)
EVENT_ATTRIBUTES = frozenset({"exception.type"})

# Requests that are not work: the probes of Docker and Prometheus.
UNTRACED = frozenset({"/healthz", "/metrics"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
W3C = TraceContextTextMapPropagator()


class Tracing:
    """The process's tracer provider, and what the API and the worker install with it."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("weiquan")

    def interceptor(self) -> TracingInterceptor:
        """Temporal's interceptor, for a client (its workers take it from there)."""
        return _CaseTracing(self.tracer)

    def step(self, *, step: str, case_no: str) -> AbstractContextManager[Any]:
        """The span of a workflow step the API applies."""
        return self.tracer.start_as_current_span(
            f"step {step}",
            attributes={"weiquan.step": step, "weiquan.case_no": case_no},
            record_exception=False,
        )

    def shutdown(self) -> None:
        """Sends what is left, and stops."""
        self.provider.shutdown()


def start(
    settings: Settings, component: str, exporter: SpanExporter | None = None
) -> Tracing | None:
    """The process's tracing as configured (None: off), or to ``exporter`` (tests)."""
    if exporter is None:
        if not settings.tracing:
            return None
        exporter = _exporter(settings)
    name = settings.otel_service_name or f"weiquan-{component}"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    # In batches from a thread of its own: a request does not wait for the collector.
    provider.add_span_processor(BatchSpanProcessor(Private(exporter)))
    return Tracing(provider)


def _exporter(settings: Settings) -> SpanExporter:
    if settings.otel_exporter == "console":
        return ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")
    base = settings.otel_exporter_otlp_endpoint.rstrip("/")
    # Empty: the SDK's own (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else localhost:4318).
    return OTLPSpanExporter(endpoint=f"{base}/v1/traces" if base else None)


def step(tracing: Tracing | None, *, step: str, case_no: str) -> AbstractContextManager[Any]:
    """A step's span, or nothing when tracing is off."""
    return nullcontext() if tracing is None else tracing.step(step=step, case_no=case_no)


# --- what leaves the process ---------------------------------------------------------------


class Private(SpanExporter):
    """Hands the exporter copies of the spans with the listed attributes only: an error's
    exception type without its message or traceback, a status without its description
    (Temporal's interceptor writes the exception's message there)."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([private(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


def _kept(attributes: Mapping[str, Any] | None, allowed: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in (attributes or {}).items() if k in allowed}


def private(span: ReadableSpan) -> ReadableSpan:
    """The span with what may leave the process only."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_kept(span.attributes, SPAN_ATTRIBUTES),
        events=[
            Event(event.name, _kept(event.attributes, EVENT_ATTRIBUTES), event.timestamp)
            for event in span.events
        ],
        links=[Link(link.context) for link in span.links],
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


# --- the API's requests --------------------------------------------------------------------


class RequestSpans:
    """A server span for each request, named by its method and route template
    (``POST /api/v1/tasks/{task_id}/complete``): never the path, which can hold what a clerk
    typed, nor the query string. The case number of the path is kept once the API found the
    case (a status below 400), so a search typed into the path is not. The request's log
    lines, its access line among them, carry the trace's id (``trace_id``).

    A worker's call (``/internal/``) continues the activity's trace from its ``traceparent``;
    anyone else's request starts a trace of its own: a browser does not choose the trace id,
    nor whether the request is sampled."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED:
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in _METHODS else "_OTHER"
        parent = Context()
        if scope["path"].startswith("/internal/"):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            parent = W3C.extract(headers, context=parent)
        span = self.tracer.start_span(
            method, parent, kind=SpanKind.SERVER, attributes={"http.request.method": method}
        )
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        token = opentelemetry.context.attach(trace.set_span_in_context(span, parent))
        try:
            with logs.bound(trace_id=format(span.get_span_context().trace_id, "032x")):
                await self.app(scope, receive, sending)
        except Exception as error:
            span.set_attribute("error.type", type(error).__qualname__)
            raise
        finally:
            opentelemetry.context.detach(token)
            route = template(scope)
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status[0])
            case_no = scope.get("path_params", {}).get("case_no")
            if case_no and status[0] < 400:
                span.set_attribute("weiquan.case_no", case_no)
            if status[0] >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()


# --- Temporal ------------------------------------------------------------------------------


class _CaseTracing(TracingInterceptor):
    """Temporal's tracing interceptor (client, workflow and activity spans, the context in
    the calls' headers), with the workflows' update spans in the update's own trace."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers its span function
        return _UpdateSpans


class _Headers:
    """Where a workflow span's context is left (``add_to_outbound``), to be read back."""

    headers: Mapping[str, Payload] = {}


class _UpdateSpans(TracingWorkflowInboundInterceptor):
    """Temporal's interceptor puts every span of a workflow in the trace of the workflow's
    start and only links an update to it. A case workflow applies a clerk's decision in its
    main loop (``workflows/case.py``), not in the update's handler, so the step's activity
    would land in the registration's trace, weeks old. Here the update's validator and
    handler spans are children of the client's update span, and what the main loop starts
    to apply the decision is a child of the handler's: the ``record_step`` whose input names
    the submission (its id is the update's, ``api/process.py``), then the incident or the
    child workflow that step brings, until the handler returns or another step starts.

    Spans only, made outside replay as Temporal's are; no command changes, so histories
    recorded with or without tracing replay either way."""

    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self._updates: dict[str, Context] = {}  # update id → its handler span's context
        self._applying: str | None = None  # the update whose step the main loop applies

    def _context(self, headers: Mapping[str, Payload]) -> Context | None:
        payload = headers.get(self.header_key)
        if not payload:
            return None
        carrier = self.payload_converter.from_payloads([payload])[0]
        return self.text_map_propagator.extract(carrier) if carrier else None

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        context = self._context(input.headers)
        if context is None:
            super().handle_update_validator(input)
            return
        with _attached(context):
            self._completed_span(
                f"ValidateUpdate:{input.update}",
                additional_attributes={"temporalUpdateID": input.id},
                kind=SpanKind.SERVER,
            )
        self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        context = self._context(input.headers)
        if context is None:
            return await super().handle_update_handler(input)
        handler = _Headers()
        with _attached(context):
            self._completed_span(
                f"HandleUpdate:{input.update}",
                add_to_outbound=handler,
                additional_attributes={"temporalUpdateID": input.id},
                kind=SpanKind.SERVER,
            )
        found = self._context(handler.headers)  # None when replaying: no span was made
        if found is not None:
            self._updates[input.id] = found
        try:
            return await self.next.handle_update_handler(input)
        finally:
            self._updates.pop(input.id, None)
            if self._applying == input.id:
                self._applying = None

    def _completed_span(self, span_name: str, **kwargs: Any) -> None:
        # Every workflow span is made here; the outbound ones (an activity, a child
        # workflow, a signal to one) carry their context in ``add_to_outbound``.
        outbound = kwargs.get("add_to_outbound")
        if outbound is None or isinstance(outbound, _Headers):
            super()._completed_span(span_name, **kwargs)
            return
        if (
            isinstance(outbound, StartActivityInput | StartLocalActivityInput)
            and outbound.activity == "record_step"
        ):
            step = outbound.args[0] if outbound.args else None
            self._applying = getattr(step, "submission_id", None)
        with _attached(self._updates.get(self._applying or "")):
            super()._completed_span(span_name, **kwargs)


@contextmanager
def _attached(context: Context | None) -> Iterator[None]:
    """``context`` current for a block that does not await."""
    if context is None:
        yield
        return
    token = opentelemetry.context.attach(context)
    try:
        yield
    finally:
        opentelemetry.context.detach(token)
