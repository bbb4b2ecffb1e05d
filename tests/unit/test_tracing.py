"""What a span may take out of the process (api.tracing.Private), and tracing's start from
the settings. The spans of a real decision: tests/api/test_traces.py."""

import io
import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from api import tracing
from api.config import Settings


def test_a_span_leaves_with_the_listed_attributes_and_an_errors_type_only() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(tracing.Private(exporter)))
    tracer = provider.get_tracer("test")
    with pytest.raises(ValueError):
        with tracer.start_as_current_span(
            "POST /api/v1/cases",
            attributes={
                "http.route": "/api/v1/cases",
                "url.query": "q=13956781234",
                "weiquan.case_no": "TS20261207000001",
            },
        ) as span:
            span.add_event("typed", {"text": "欧阳春燕"})
            span.set_status(Status(StatusCode.ERROR, "API refused step triage: 13956781234"))
            raise ValueError("欧阳春燕 13956781234")

    [left] = exporter.get_finished_spans()
    assert dict(left.attributes or {}) == {
        "http.route": "/api/v1/cases",
        "weiquan.case_no": "TS20261207000001",
    }
    assert [(e.name, dict(e.attributes or {})) for e in left.events] == [
        ("typed", {}),
        ("exception", {"exception.type": "ValueError"}),
    ]
    assert left.status.status_code == StatusCode.ERROR and not left.status.description
    held = json.dumps(json.loads(left.to_json()), ensure_ascii=False)
    assert "13956781234" not in held and "欧阳春燕" not in held
    provider.shutdown()


def test_off_there_is_no_tracing_and_on_the_service_is_named(tmp_path: Path) -> None:
    assert tracing.start(Settings(data_dir=tmp_path), "worker") is None
    assert tracing.start(Settings(data_dir=tmp_path, otel_exporter="none"), "worker") is None
    for given, name in (("", "weiquan-worker"), ("weiquan-worker-7", "weiquan-worker-7")):
        settings = Settings(data_dir=tmp_path, otel_exporter="console", otel_service_name=given)
        traces = tracing.start(settings, "worker")
        assert traces is not None
        assert traces.provider.resource.attributes["service.name"] == name
        traces.shutdown()


def test_the_console_writes_a_json_object_a_line(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, otel_exporter="console")
    exporter = tracing._exporter(settings)
    out = io.StringIO()
    exporter.out = out  # type: ignore[attr-defined]
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("step triage"):
        pass
    [line] = out.getvalue().splitlines()
    assert json.loads(line)["name"] == "step triage"
    provider.shutdown()
