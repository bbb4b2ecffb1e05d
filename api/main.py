"""Builds the app and mounts the routers."""

import asyncio
import contextlib
import hmac
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client

from api import errors, logs, metrics, tracing
from api.audit.keys import signing_key
from api.audit.routes import audit_router as audit_checkpoints_router
from api.audit.routes import router as audit_router
from api.auth.routes import router as auth_router
from api.bulletins.routes import router as bulletins_router
from api.calendar.routes import router as calendar_router
from api.campaigns import service as campaigns
from api.campaigns.routes import router as campaigns_router
from api.cases.repair import keep_finishing
from api.cases.routes import router as cases_router
from api.clock.routes import router as clock_router
from api.config import Settings, get_settings, refusal
from api.db import Database, DatabaseBusy, make_engine, one_at_a_time
from api.deps import SessionDep
from api.errors import NotAllowed
from api.inbox import openapi as completion_body
from api.inbox.routes import router as tasks_router
from api.incidents.routes import router as incidents_router
from api.internal import engine as step_engine
from api.internal.routes import router as internal_router
from api.mediation.routes import router as mediation_router
from api.migrations import migrate
from api.monitoring.routes import disclosure_router
from api.monitoring.routes import router as monitoring_router
from api.pages import render as page_render
from api.pages import routes as pages
from api.pages.admin import router as admin_pages_router
from api.pages.bulletins import router as bulletin_pages_router
from api.pages.campaigns import router as campaign_pages_router
from api.pages.divisions import router as division_pages_router
from api.pages.monitoring import router as monitoring_pages_router
from api.pages.reference import router as reference_pages_router
from api.pages.reviews import router as review_pages_router
from api.pages.routes import router as pages_router
from api.pages.session import SignInRequired
from api.pages.stations import router as station_pages_router
from api.reference.routes import router as reference_router
from api.reviews.routes import router as reviews_router
from api.rules import service as rules
from api.rules.routes import router as rules_router
from api.stations import divisions
from api.stations.routes import router as stations_router
from api.supervision import rollup
from api.supervision.routes import router as supervision_router
from api.temporal import TemporalConnection
from api.units import demo
from api.units import service as units
from api.units.routes import router as units_router

# FastAPI's own OpenTelemetry, off: it would trace through any provider set globally, with
# the path and the query string (which can hold a phone number searched for) on its spans.
# Traces are api.tracing's, with route templates only.
NO_BUILT_IN_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "auto_configure": False,
}


def prepare_database(engine: Engine, settings: Settings) -> None:
    # Several API processes may start at once (WEIQUAN_API_PROCESSES, api replicas): one
    # at a time migrates, seeds and builds, and the next finds it all done. Two migrations
    # at once would both create the same tables.
    with one_at_a_time(engine, "weiquan.prepare_database"):
        # The audit's signing key: made on the embedded default's first start, and a
        # missing mounted key stops production here rather than at its first checkpoint.
        signing_key(settings)
        migrate(engine, settings.rules_file)
        with Session(engine) as session:
            units.load_org(session=session, path=settings.org_file)
            divisions.load_divisions(
                session=session, path=settings.divisions_file, areas=settings.branch_areas_file
            )
            rules.seed(session=session, settings=settings)
            campaigns.seed(session=session, path=settings.campaigns_file)
            if settings.should_seed_demo_users:
                demo.seed_demo_users(session=session)
        with Session(engine) as session:
            rollup.ensure_built(session)  # the bulletin's rollup, once after the upgrade


def _pages_in_chinese(
    json_error: Callable[[Request, Exception], Awaitable[Response]],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A domain error answers a workplace page with a page, the JSON API with JSON."""

    async def handle(request: Request, error: Exception) -> Response:
        if pages.is_page(request) and isinstance(error, errors.DomainError):
            return await to_thread.run_sync(pages.error_page, request, error)
        return await json_error(request, error)

    return handle


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    temporal_client: Client | None = None,
    traces: tracing.Tracing | None = None,
) -> FastAPI:
    """``traces``: where the spans go (tests); else as ``WEIQUAN_OTEL_EXPORTER`` says."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings)
    traces = traces or tracing.start(settings, "api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Database work never runs on the event loop, start-up included.
        to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        await to_thread.run_sync(prepare_database, engine, settings)
        repair = None
        if settings.registration_repair_every_seconds > 0:
            repair = asyncio.create_task(
                keep_finishing(db=Database(engine), temporal=app.state.temporal, settings=settings)
            )
        yield
        if repair is not None:
            repair.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await repair
        if traces is not None:
            # The spans still in the batch. Not at exit: uvicorn ends the process by raising
            # the signal it stopped on again, and SIGTERM's default runs no exit handler.
            await to_thread.run_sync(traces.shutdown)

    # /docs and /redoc serve Swagger UI and ReDoc from the installed package, never a CDN:
    # the bureau's network may have no internet.
    app = FastAPIOffline(
        title="weiquan 12315",
        description="12315 消费者投诉举报处理 — the bureau's complaint and report workflow.",
        version="1",
        lifespan=lifespan,
        telemetry=NO_BUILT_IN_TELEMETRY,
    )
    app.state.settings = settings
    app.add_exception_handler(StarletteHTTPException, errors.http_error)
    app.add_exception_handler(errors.DomainError, _pages_in_chinese(errors.domain_error))
    app.add_exception_handler(SignInRequired, pages.sign_in_first)
    app.add_exception_handler(RequestValidationError, errors.validation_error)
    for busy in (DatabaseBusy, PoolTimeout, OperationalError):
        app.add_exception_handler(busy, errors.database_busy)
    app.add_middleware(errors.RejectNonUnicodeJSON)
    app.add_middleware(logs.RequestLog)
    if traces is not None:
        # Outermost: the request's access line is written within its span.
        app.add_middleware(tracing.RequestSpans, tracer=traces.tracer)
    app.state.engine = engine
    app.state.tracing = traces
    app.state.temporal = TemporalConnection(settings, temporal_client, traces)
    app.state.step_engine = step_engine
    metrics.serving()

    for router in (
        auth_router,
        cases_router,
        audit_router,
        audit_checkpoints_router,
        clock_router,
        tasks_router,
        units_router,
        rules_router,
        calendar_router,
        supervision_router,
        bulletins_router,
        incidents_router,
        mediation_router,
        stations_router,
        campaigns_router,
        monitoring_router,
        disclosure_router,
        reviews_router,
        reference_router,
    ):
        # Every route documents the errors any route can give (401, 403, 404, 409, 503).
        app.include_router(router, prefix="/api/v1", responses=errors.COMMON_RESPONSES)
    app.include_router(internal_router, responses=errors.COMMON_RESPONSES)
    app.include_router(pages_router)
    app.include_router(admin_pages_router)
    app.include_router(bulletin_pages_router)
    app.include_router(station_pages_router)
    app.include_router(campaign_pages_router)
    app.include_router(monitoring_pages_router)
    app.include_router(review_pages_router)
    app.include_router(reference_pages_router)
    app.include_router(division_pages_router)
    app.mount("/static", StaticFiles(directory=page_render.STATIC), name="static")

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            completion_body.document(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/metrics", tags=["health"], response_class=Response)
    def prometheus_metrics(session: SessionDep, authorization: str = Header("")) -> Response:
        """The API's metrics in Prometheus' text format (docs/production.md, "Metrics"):
        with ``WEIQUAN_METRICS_TOKEN`` set, for its bearer only."""
        expected = f"Bearer {settings.metrics_token}"
        if settings.metrics_token and not hmac.compare_digest(authorization, expected):
            raise NotAllowed("auth.metrics", "the metrics need the metrics token")
        return Response(metrics.exposition(session), media_type=metrics.CONTENT_TYPE)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        """200 when the database and Temporal are reachable, else 503; ``pid`` names the
        API process that answered (several may share the port)."""
        try:
            await to_thread.run_sync(_ping, engine)
            database = True
        except Exception:
            database = False
        temporal = await app.state.temporal.healthy()
        ok = database and temporal
        return JSONResponse(
            {
                "status": "ok" if ok else "unavailable",
                "database": database,
                "temporal": temporal,
                "pid": os.getpid(),
            },
            status_code=200 if ok else 503,
        )

    return app


def __getattr__(name: str) -> FastAPI:
    # ``uvicorn api.main:app`` builds the app on first use, so importing this module in
    # tests does not read the environment or open a database.
    if name == "app":
        logs.configure("api")  # uvicorn's own logging set up first; JSON lines from here on
        try:
            settings = get_settings()
        except ValidationError as error:
            # Named by variable, not a traceback (uvicorn started directly, as in the image).
            logging.getLogger("weiquan.main").error("the settings are refused: %s", refusal(error))
            raise SystemExit(1) from None
        return create_app(settings)
    raise AttributeError(name)
