"""One settings object for the API, the worker and the embedded launcher.

Every value comes from the environment (prefix ``WEIQUAN_``). Development is the embedded
default that ``make run`` starts; production refuses the development placeholders.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me-in-production-000000"
DEV_SERVICE_TOKEN = "dev-only-service-token"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEIQUAN_", extra="ignore")

    environment: Literal["development", "production"] = "development"

    # Where the embedded default keeps its SQLite file and Temporal's state.
    data_dir: Path = Path("data")
    # SQLAlchemy URL; empty means the SQLite file under data_dir.
    database_url: str = ""
    # PostgreSQL schema to use (search_path); empty means the server's default.
    database_schema: str = ""

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

    secret_key: str = DEV_SECRET
    service_token: str = DEV_SERVICE_TOKEN
    token_ttl_minutes: int = 12 * 60

    # The supervision ladder (督办), in working days: a warning this many before the last
    # day, a chase notice this many after it, a criticism this many after the notice.
    ladder_warning_working_days: int = Field(default=2, ge=0)
    ladder_notice_working_days: int = Field(default=1, ge=0)
    ladder_criticism_working_days: int = Field(default=5, ge=1)

    # Seeds the demo users of API.md. Never true in production.
    seed_demo_users: bool | None = None

    # How long an HTTP request waits for a workflow update before answering 503.
    update_timeout_seconds: float = 30.0
    # How long a stopping worker lets the activities in flight finish before cancelling.
    worker_graceful_shutdown_seconds: float = Field(default=10.0, ge=0)

    # The organisation (units and districts) and the statutory rule sets, as data.
    org_file: Path = Path(__file__).resolve().parent.parent / "config" / "org-chizhou.json"
    rules_file: Path = Path(__file__).resolve().parent.parent / "config" / "rulesets.json"
    campaigns_file: Path = Path(__file__).resolve().parent.parent / "config" / "campaigns.json"
    # The people's mediation committees (人民调解委员会) a branch may refer a dispute to.
    committees_file: Path = Path(__file__).resolve().parent.parent / "config" / "committees.json"

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> "Settings":
        if self.environment == "production":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError("WEIQUAN_SECRET_KEY must be set (32+ chars) in production")
            if self.service_token == DEV_SERVICE_TOKEN or len(self.service_token) < 16:
                raise ValueError("WEIQUAN_SERVICE_TOKEN must be set (16+ chars) in production")
            if not self.database_url:
                raise ValueError("WEIQUAN_DATABASE_URL must be set in production")
            if self.seed_demo_users:
                raise ValueError("demo users are never seeded in production")
        return self

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
    def should_seed_demo_users(self) -> bool:
        if self.seed_demo_users is None:
            return self.environment == "development"
        return self.seed_demo_users


@lru_cache
def get_settings() -> Settings:
    return Settings()
