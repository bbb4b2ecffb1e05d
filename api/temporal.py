"""The API's Temporal client: connected lazily, so the API starts (and reports 503 on
/healthz) while Temporal is still coming up."""

import asyncio
import logging

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from api.config import Settings
from api.tracing import Tracing


class TemporalConnection:
    def __init__(
        self, settings: Settings, client: Client | None = None, tracing: Tracing | None = None
    ) -> None:
        self._settings = settings
        self._client = client
        self._tracing = tracing
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await connect(self._settings, tracing=self._tracing)
        return self._client

    async def healthy(self) -> bool:
        try:
            client = await asyncio.wait_for(self.client(), timeout=3)
            return await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        except Exception:
            return False


async def connect(
    settings: Settings, runtime: Runtime | None = None, tracing: Tracing | None = None
) -> Client:
    """A client; with ``tracing``, its calls and the workers made with it are traced."""
    return await Client.connect(
        settings.effective_temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        interceptors=[tracing.interceptor()] if tracing else [],
    )


def metrics_runtime(address: str | None) -> Runtime:
    """A Temporal runtime whose core logs go through the process's logging (so they come
    out as its JSON lines), serving the SDK's own metrics (workflow and activity task
    latencies, poller counts, sticky cache use …) at ``address`` for Prometheus."""
    core = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    metrics = PrometheusConfig(bind_address=address) if address else None
    return Runtime(telemetry=TelemetryConfig(logging=core, metrics=metrics))
