"""One settings object for the API, the worker and the embedded launcher.

Every value comes from the environment (prefix ``WEIQUAN_``). Development is the embedded
default that ``make run`` starts; production refuses the development placeholders.
"""

import json
import os
import secrets
import time
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The placeholders of earlier versions: published with the code, so refused everywhere.
PUBLISHED_SECRETS = frozenset(
    {"dev-only-secret-change-me-in-production-000000", "dev-only-service-token"}
)
SECRETS_FILE = "secrets.json"
AUDIT_KEY_FILE = "audit-signing-key.pem"


def _env(rung: str) -> AliasChoices:
    """An escalation figure: by its name, or from the environment under its name or the
    name it had before (WEIQUAN_LADDER_<RUNG>_WORKING_DAYS)."""
    name = f"escalation_{rung}_working_days"
    return AliasChoices(
        name, f"WEIQUAN_{name.upper()}", f"WEIQUAN_LADDER_{rung.upper()}_WORKING_DAYS"
    )


# A day of the year, MM-DD.
MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIQUAN_", extra="ignore")

    environment: Literal["development", "production"] = "development"

    # Where the embedded default keeps its SQLite file and Temporal's state.
    data_dir: Path = Path("data")
    # SQLAlchemy URL; empty means the SQLite file under data_dir.
    database_url: str = ""
    # PostgreSQL schema to use (search_path); empty means the server's default.
    database_schema: str = ""
    # The API's connection pool (SQLite and PostgreSQL alike) and the threads its database
    # work runs in. A thread holds a connection only while it works, never while a request
    # waits for Temporal, so a pool smaller than the threads queues work but cannot stall.
    database_pool_size: int = Field(default=20, ge=1, le=1000)
    database_max_overflow: int = Field(default=20, ge=0, le=1000)
    database_pool_timeout_seconds: float = Field(default=30.0, gt=0)
    api_threads: int = Field(default=40, ge=1, le=1000)

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Base URL the worker's activities call; empty means http://api_host:api_port.
    api_url: str = ""

    temporal_address: str = ""  # empty means 127.0.0.1:temporal_port
    temporal_port: int = 7233
    temporal_ui_port: int = 0  # 0 means temporal_port + 1000
    temporal_namespace: str = "default"
    task_queue: str = "weiquan"

    # Prepended to every case number (e.g. a city code); tests use it to keep the case
    # numbers of their throw-away databases apart on a shared Temporal server.
    case_no_prefix: str = Field(default="", pattern=r"^[A-Z0-9]{0,6}$")

    # Sign login tokens and authenticate the worker to the internal routes. Production sets
    # both; the embedded default (development) makes its own on first start and keeps them in
    # the data dir (secrets.json, readable by its owner only).
    secret_key: str = ""
    service_token: str = ""
    token_ttl_minutes: int = Field(default=12 * 60, ge=1)
    # ``GET /metrics`` asks for this bearer token when it is set (Prometheus' scrape config
    # gives it); empty, the metrics are open to whoever reaches the API's port.
    metrics_token: str = ""
    # Where the worker serves the Temporal SDK's own metrics for Prometheus
    # (``host:port``); empty: not served.
    worker_metrics_address: str = Field(default="", pattern=r"^$|^[^:\s]+:[0-9]{1,5}$")
    # Traces (OpenTelemetry; docs/production.md, "Traces"): empty or "none", off, and nothing
    # is installed; "otlp" sends them over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (the
    # collector's base URL, /v1/traces added; http://localhost:4318 when empty), "console"
    # writes them on standard output, a JSON object a span. Spans are named after
    # OTEL_SERVICE_NAME, or weiquan-api and weiquan-worker. The standard variables keep
    # their standard names; the SDK reads the rest of them (OTEL_EXPORTER_OTLP_HEADERS,
    # OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES …) itself.
    otel_exporter: Literal["", "none", "otlp", "console"] = ""
    otel_exporter_otlp_endpoint: str = Field(
        default="",
        validation_alias=AliasChoices("otel_exporter_otlp_endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    )
    otel_service_name: str = Field(
        default="", validation_alias=AliasChoices("otel_service_name", "OTEL_SERVICE_NAME")
    )
    # Workflows a worker keeps in its sticky cache: more is fewer replays, less is less
    # memory, about 0.2 MiB each (bench/README.md, "rss.py"; docs/production.md, "Sizing").
    # 500 holds every case being worked on at once (a case waits days for a person between
    # its steps, and replays its history then whatever the cache), and keeps a worker near
    # 230 MiB however many cases are open.
    worker_max_cached_workflows: int = Field(default=500, ge=0)
    # A web workplace sign-in (its session cookie) lasts this long; logout ends it sooner.
    # The cookie is Secure (sent over HTTPS only) in production, or when set here.
    session_ttl_minutes: int = Field(default=10 * 60, ge=1)
    session_cookie_secure: bool | None = None
    # How often the inbox page asks for its rows again (a new task, or one a colleague took).
    inbox_poll_seconds: float = Field(default=10.0, ge=0.5, le=600)

    # The escalation of a late deadline (督办), in working days: a warning this many before
    # the last day, a chase notice this many after it, a criticism this many after the
    # notice. WEIQUAN_LADDER_* (the names before) are read too.
    escalation_warning_working_days: int = Field(default=2, ge=0, validation_alias=_env("warning"))
    escalation_notice_working_days: int = Field(default=1, ge=0, validation_alias=_env("notice"))
    escalation_criticism_working_days: int = Field(
        default=5, ge=1, validation_alias=_env("criticism")
    )

    # Login limits (POST /auth/token; api/auth/service.py). A username with
    # login_max_failures failed logins within login_window_minutes is locked for
    # login_lockout_minutes (429 auth.locked), the right password too; an unknown name is
    # counted by the name tried. A client address with login_max_failures_per_client
    # failures within the window, over any names, is refused as long (429
    # auth.too_many_attempts). A success or an admin's unlock starts a username's count
    # afresh, and so does the end of a lockout. Minutes may be fractional.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_client: int = Field(default=20, ge=1)
    login_window_minutes: float = Field(default=15, gt=0)
    login_lockout_minutes: float = Field(default=15, gt=0)
    # The shortest password an admin may set for a user (创建用户、重置密码).
    password_min_length: int = Field(default=10, ge=6, le=128)

    # The bulletin (通报): a branch with fewer handle deadlines ended in the month than this
    # is listed unranked (样本不足).
    bulletin_min_cases: int = Field(default=5, ge=1)
    # Who issues it, as the document's head and signature.
    bulletin_issuer: str = Field(default="池州市市场监督管理局", min_length=1, max_length=100)
    # Its number (文号) when published: {year} and {seq}, the seq counted per year.
    bulletin_number_pattern: str = Field(
        default="池市监消〔{year}〕{seq}号", min_length=1, max_length=50
    )
    # When the month's bulletin is drafted: the 1st of each month at this hour (a Temporal
    # Schedule, Asia/Shanghai), covering the month before. A run missed while the service
    # was down is caught up within this many days, once per month.
    bulletin_hour: int = Field(default=8, ge=0, le=23)
    bulletin_minute: int = Field(default=0, ge=0, le=59)
    bulletin_catchup_days: int = Field(default=62, ge=1, le=366)

    # Demonstration sites (示范点): each January, on this day at bulletin_hour, every branch
    # is given the task of naming one site per 五进 host type, due on this month and day
    # (MM-DD) of the year; a list the city sends back is due again this many working days
    # after. A run missed is caught up within demonstration_catchup_days.
    demonstration_open_day: int = Field(default=2, ge=1, le=31)
    demonstration_due: str = Field(
        default="03-31", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
    )
    demonstration_resubmit_working_days: int = Field(default=10, ge=1, le=250)
    demonstration_catchup_days: int = Field(default=60, ge=1, le=366)
    # A station assessed below the pass mark is rectified (整改) by its branch within this
    # many working days of the assessment.
    station_rectification_working_days: int = Field(default=20, ge=1, le=250)
    # Quality monitoring (商品质量监测): a failed sample's outlet takes the lot off sale
    # (退市) within this many working days of its commodity's clean-up (or of the failed
    # result, once the clean-up runs); an XLSX of results has at most this many rows.
    monitoring_delisting_working_days: int = Field(default=5, ge=1, le=250)
    monitoring_import_max_rows: int = Field(default=5000, ge=1, le=100000)
    # A sector review's finding (社会评议) is rectified within this many working days of it.
    review_rectification_working_days: int = Field(default=30, ge=1, le=250)

    # Seeds the demo users (docs/api.md, "Sign-in"). Never true in production.
    seed_demo_users: bool | None = None

    # Reports a complaint's handler may open from clues found while mediating (线索移交).
    max_clue_reports_per_case: int = Field(default=20, ge=1, le=1000)

    # A case left in "registered" this long (its workflow's start unconfirmed, and the
    # client never sent it again) is started by the API itself; checked this often
    # (0: never). Starting is idempotent: a workflow that runs already is left alone.
    registration_repair_after_seconds: float = Field(default=120.0, gt=0)
    registration_repair_every_seconds: float = Field(default=60.0, ge=0)
    # A decision a step applied whose workflow's answer was not seen this long after (its
    # update may have been lost with Temporal's answer) is sent again by the API, in the
    # same rounds.
    decision_repair_after_seconds: float = Field(default=120.0, gt=0)

    # How long an HTTP request waits for a workflow update before answering 503.
    update_timeout_seconds: float = 30.0
    # How long a stopping worker lets the activities in flight finish before cancelling.
    worker_graceful_shutdown_seconds: float = Field(default=10.0, ge=0)

    # The embedded launcher (scripts/run_embedded.py) restarts a child (temporal, worker or
    # api) that dies after start-up, after a backoff that starts at restart_backoff_seconds
    # and doubles with each recent crash up to restart_backoff_max_seconds. It gives up
    # (stops the others, exits 1) when one child would need more than restart_max restarts
    # within restart_window_seconds; restart_max=0 means never restart.
    restart_max: int = Field(default=5, ge=0)
    # Workers the embedded default runs on its task queue (each restarted on its own);
    # production scales its worker containers instead.
    embedded_workers: int = Field(default=1, ge=1, le=16)
    # API processes the embedded default runs on its one port (each restarted on its own;
    # the kernel spreads the connections over them, SO_REUSEPORT). More than one needs the
    # database on PostgreSQL; production scales its api containers instead.
    api_processes: int = Field(default=1, ge=1, le=16)
    restart_window_seconds: float = Field(default=60.0, gt=0)
    restart_backoff_seconds: float = Field(default=1.0, ge=0)
    restart_backoff_max_seconds: float = Field(default=30.0, ge=0)

    # The Ed25519 key that signs the audit's checkpoints, kept outside the application
    # database (so whoever holds the database cannot sign a rewritten history). Empty: the
    # embedded default makes one in the data dir on first use; production must name the
    # file, a mounted secret. The public key is served at GET /api/v1/audit/public-key.
    audit_key_file: Path | None = None
    # How long Temporal keeps a closed workflow's history, in days: the launcher sets it on
    # the embedded dev server (whose own default is 24 hours). Production's cluster keeps
    # TEMPORAL_NAMESPACE_RETENTION (docker-compose.yml); see docs/production.md.
    temporal_retention_days: int = Field(default=30, ge=1, le=3650)

    # When the daily checkpoint is taken (a Temporal Schedule, Asia/Shanghai); a run
    # missed while the service was down is caught up within a day.
    audit_checkpoint_hour: int = Field(default=2, ge=0, le=23)
    audit_checkpoint_minute: int = Field(default=30, ge=0, le=59)

    # The organisation (units and districts) and the statutory rule sets, as data.
    org_file: Path = Path(__file__).resolve().parent.parent / "config" / "org-chizhou.json"
    # The city's divisions (counties, townships, communities and villages, with their
    # statistical codes), and which branch covers which.
    divisions_file: Path = (
        Path(__file__).resolve().parent.parent / "config" / "divisions-chizhou.csv"
    )
    branch_areas_file: Path = (
        Path(__file__).resolve().parent.parent / "config" / "branch-areas.json"
    )
    # The city's standard a station is assessed against (标准化建设标准), and its pass mark.
    station_checklist_file: Path = (
        Path(__file__).resolve().parent.parent / "config" / "station-checklist.json"
    )
    rules_file: Path = Path(__file__).resolve().parent.parent / "config" / "rulesets.json"
    campaigns_file: Path = Path(__file__).resolve().parent.parent / "config" / "campaigns.json"
    # The commodities and kinds of area a monitoring plan may name, and a new plan's
    # failure-rate threshold and minimum samples (商品质量监测).
    monitoring_file: Path = Path(__file__).resolve().parent.parent / "config" / "monitoring.json"
    # The public-service sectors reviewed (社会评议: 供电, 金融), their review points and the
    # complaint categories their findings may come from.
    reviews_file: Path = Path(__file__).resolve().parent.parent / "config" / "reviews.json"
    # The people's mediation committees (人民调解委员会) a branch may refer a dispute to.
    committees_file: Path = Path(__file__).resolve().parent.parent / "config" / "committees.json"

    @model_validator(mode="after")
    def _secrets(self) -> "Settings":
        for name in ("secret_key", "service_token"):
            if getattr(self, name) in PUBLISHED_SECRETS:
                raise ValueError(f"WEIQUAN_{name.upper()} is a published placeholder; unset it")
        if self.environment == "development" and not (self.secret_key and self.service_token):
            made = embedded_secrets(self.data_dir)
            self.secret_key = self.secret_key or made["secret_key"]
            self.service_token = self.service_token or made["service_token"]
        if len(self.secret_key) < 32:
            raise ValueError("WEIQUAN_SECRET_KEY must be set, 32 characters or more")
        if len(self.service_token) < 16:
            raise ValueError("WEIQUAN_SERVICE_TOKEN must be set, 16 characters or more")
        return self

    @model_validator(mode="after")
    def _a_number_pattern_that_numbers(self) -> "Settings":
        try:
            one, two = (self.bulletin_number_pattern.format(year=2026, seq=n) for n in (1, 2))
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                "WEIQUAN_BULLETIN_NUMBER_PATTERN may use {year} and {seq} only"
            ) from error
        if one == two:
            raise ValueError("WEIQUAN_BULLETIN_NUMBER_PATTERN must contain {seq}")
        return self

    @model_validator(mode="after")
    def _a_due_day_every_year_has(self) -> "Settings":
        month, day = (int(part) for part in self.demonstration_due.split("-"))
        try:
            date(2027, month, day)  # not a leap year: 02-29 would be missing three years in four
        except ValueError as error:
            raise ValueError(
                f"WEIQUAN_DEMONSTRATION_DUE {self.demonstration_due} is not a day of every year"
            ) from error
        return self

    @model_validator(mode="after")
    def _processes_share_postgresql(self) -> "Settings":
        if self.api_processes > 1 and self.effective_database_url.startswith("sqlite"):
            raise ValueError(
                f"WEIQUAN_API_PROCESSES={self.api_processes} needs WEIQUAN_DATABASE_URL on "
                "PostgreSQL: SQLite lets one writer in at a time, and the API makes its "
                "writers take turns within one process only (api.db.WriteGate), so the "
                "writers of several processes would fail with 'database is locked' under load"
            )
        return self

    @model_validator(mode="after")
    def _an_endpoint_to_send_traces_to(self) -> "Settings":
        endpoint = self.otel_exporter_otlp_endpoint
        if self.tracing and endpoint:
            url = urlsplit(endpoint)
            if url.scheme not in ("http", "https") or not url.hostname or url.query:
                raise ValueError(
                    f"OTEL_EXPORTER_OTLP_ENDPOINT {endpoint!r} is not the base URL of an "
                    "OTLP/HTTP collector (http://host:4318, https://…)"
                )
        return self

    @property
    def tracing(self) -> bool:
        """Whether traces are exported (``WEIQUAN_OTEL_EXPORTER``)."""
        return self.otel_exporter not in ("", "none")

    @property
    def demonstration_due_day(self) -> tuple[int, int]:
        """(month, day) of the demonstration list's deadline."""
        month, day = (int(part) for part in self.demonstration_due.split("-"))
        return month, day

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> "Settings":
        if self.environment == "production":
            if not self.database_url:
                raise ValueError("WEIQUAN_DATABASE_URL must be set in production")
            if self.seed_demo_users:
                raise ValueError("demo users are never seeded in production")
            if self.audit_key_file is None:
                raise ValueError(
                    "WEIQUAN_AUDIT_KEY_FILE must name the audit signing key in production"
                )
        return self

    @property
    def cookie_secure(self) -> bool:
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.environment == "production"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'weiquan.db').resolve()}"

    @property
    def effective_api_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def effective_temporal_ui_port(self) -> int:
        return self.temporal_ui_port or self.temporal_port + 1000

    @property
    def effective_audit_key_file(self) -> Path:
        return self.audit_key_file or self.data_dir / AUDIT_KEY_FILE

    @property
    def should_seed_demo_users(self) -> bool:
        if self.seed_demo_users is None:
            return self.environment == "development"
        return self.seed_demo_users


def embedded_secrets(data_dir: Path) -> dict[str, str]:
    """The embedded default's own secret key and service token: made on first start, in the
    data dir, readable by its owner only, and the same for every process and restart."""
    path = data_dir / SECRETS_FILE
    try:
        return _read_secrets(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    made = {"secret_key": secrets.token_urlsafe(48), "service_token": secrets.token_urlsafe(32)}
    try:
        # O_EXCL: the API and the worker may start at once; the first one's secrets win.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secrets(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(made, handle)
    return made


def _read_secrets(path: Path) -> dict[str, str]:
    for _ in range(50):  # another process may be writing it this very moment
        data = path.read_text(encoding="utf-8")
        if data:
            loaded = json.loads(data)
            return {k: str(loaded[k]) for k in ("secret_key", "service_token")}
        time.sleep(0.01)
    raise ValueError(f"{path} is empty; remove it to make new secrets")


def refusal(error: ValidationError) -> str:
    """What is wrong with the environment's settings, one line a setting, by variable."""
    lines = []
    for each in error.errors():
        message = each["msg"].removeprefix("Value error, ")
        if each["loc"]:
            given = f" (given: {each['input']!r})" if isinstance(each["input"], str) else ""
            message = f"WEIQUAN_{str(each['loc'][0]).upper()}: {message}{given}"
        lines.append(message)
    return "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
