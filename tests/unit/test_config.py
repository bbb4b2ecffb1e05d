"""Production refuses missing or published secrets; the embedded default makes its own."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.config import Settings, refusal

ROOT = Path(__file__).resolve().parents[2]

STRONG = {
    "environment": "production",
    "secret_key": "x" * 40,
    "service_token": "y" * 24,
    "database_url": "postgresql+psycopg://weiquan@db/weiquan",
    "audit_key_file": "/run/secrets/audit_signing_key",
}
# What earlier versions printed in the code, and so gave every reader admin.
PUBLISHED_SECRET = "dev-only-secret-change-me-in-production-000000"
PUBLISHED_TOKEN = "dev-only-service-token"


def test_development_seeds_demo_users(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).should_seed_demo_users


def test_production_with_real_secrets_seeds_nobody() -> None:
    assert not Settings(**STRONG).should_seed_demo_users


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"secret_key": ""}, "WEIQUAN_SECRET_KEY"),
        ({"secret_key": "short"}, "WEIQUAN_SECRET_KEY"),
        ({"secret_key": PUBLISHED_SECRET}, "WEIQUAN_SECRET_KEY"),
        ({"service_token": ""}, "WEIQUAN_SERVICE_TOKEN"),
        ({"service_token": PUBLISHED_TOKEN}, "WEIQUAN_SERVICE_TOKEN"),
        ({"database_url": ""}, "WEIQUAN_DATABASE_URL"),
        ({"seed_demo_users": True}, "demo users"),
    ],
)
def test_production_refuses_missing_or_published_secrets(
    override: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(**{**STRONG, **override})


def test_development_refuses_the_published_placeholders_too(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="published"):
        Settings(data_dir=tmp_path, secret_key=PUBLISHED_SECRET)
    with pytest.raises(ValidationError, match="published"):
        Settings(data_dir=tmp_path, service_token=PUBLISHED_TOKEN)


def test_the_embedded_default_makes_its_own_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path)
    again = Settings(data_dir=tmp_path)
    elsewhere = Settings(data_dir=tmp_path / "other")

    assert len(first.secret_key) >= 32 and len(first.service_token) >= 16
    assert (again.secret_key, again.service_token) == (first.secret_key, first.service_token)
    assert elsewhere.secret_key != first.secret_key
    assert elsewhere.service_token != first.service_token
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_secrets_set_in_the_environment_win_over_the_file(tmp_path: Path) -> None:
    made = Settings(data_dir=tmp_path)
    given = Settings(data_dir=tmp_path, secret_key="s" * 40)
    assert given.secret_key == "s" * 40
    assert given.service_token == made.service_token


@pytest.mark.parametrize(
    "variable", ["WEIQUAN_ESCALATION_NOTICE_WORKING_DAYS", "WEIQUAN_LADDER_NOTICE_WORKING_DAYS"]
)
def test_an_escalation_figure_is_read_under_its_name_and_the_name_it_had(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "3")
    settings = Settings()
    assert settings.escalation_notice_working_days == 3
    assert settings.escalation_warning_working_days == 2  # the others keep their defaults


@pytest.mark.parametrize(
    "pattern", ["池市监消〔{year}〕号", "池市监消〔{year}〕{number}号", "{seq"]
)
def test_a_bulletin_number_pattern_that_cannot_number_is_refused(
    tmp_path: Path, pattern: str
) -> None:
    with pytest.raises(ValidationError, match="WEIQUAN_BULLETIN_NUMBER_PATTERN"):
        Settings(data_dir=tmp_path, bulletin_number_pattern=pattern)


def test_the_bulletin_number_pattern_numbers_within_its_year(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, bulletin_number_pattern="池市监〔{year}〕消{seq}号")
    assert settings.bulletin_number_pattern.format(year=2027, seq=3) == "池市监〔2027〕消3号"
    assert Settings(data_dir=tmp_path).bulletin_number_pattern == "池市监消〔{year}〕{seq}号"


def test_several_api_processes_need_postgresql(tmp_path: Path) -> None:
    """SQLite's writers take turns within one process only (api.db.WriteGate)."""
    for sqlite in ("", f"sqlite:///{tmp_path / 'weiquan.db'}"):
        with pytest.raises(ValidationError, match="WEIQUAN_API_PROCESSES=2 needs"):
            Settings(data_dir=tmp_path, database_url=sqlite, api_processes=2)
    assert Settings(data_dir=tmp_path, api_processes=1).api_processes == 1
    assert Settings(**{**STRONG, "api_processes": 4}).api_processes == 4


def test_a_refused_setting_is_named_by_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEIQUAN_EMBEDDED_WORKERS", "0")
    monkeypatch.setenv("WEIQUAN_API_PROCESSES", "two")
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path)
    assert refusal(refused.value).splitlines() == [
        "WEIQUAN_EMBEDDED_WORKERS: Input should be greater than or equal to 1 (given: '0')",
        "WEIQUAN_API_PROCESSES: Input should be a valid integer, unable to parse string as an"
        " integer (given: 'two')",
    ]


def test_traces_are_off_unless_an_exporter_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not Settings(data_dir=tmp_path).tracing
    assert not Settings(data_dir=tmp_path, otel_exporter="none").tracing
    monkeypatch.setenv("WEIQUAN_OTEL_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "weiquan-api-2")
    settings = Settings(data_dir=tmp_path)  # the standard variables under their own names
    assert settings.tracing
    assert settings.otel_exporter_otlp_endpoint == "http://jaeger:4318"
    assert settings.otel_service_name == "weiquan-api-2"


@pytest.mark.parametrize(
    ("variables", "said"),
    [
        (
            {"WEIQUAN_OTEL_EXPORTER": "jaeger"},
            "WEIQUAN_OTEL_EXPORTER: Input should be '', 'none', 'otlp' or 'console'"
            " (given: 'jaeger')",
        ),
        (
            {"WEIQUAN_OTEL_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "jaeger:4318"},
            "OTEL_EXPORTER_OTLP_ENDPOINT 'jaeger:4318' is not the base URL of an OTLP/HTTP"
            " collector (http://host:4318, https://…)",
        ),
    ],
)
def test_a_bad_trace_setting_is_refused_by_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], said: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path)
    assert refusal(refused.value) == said


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "worker.py"],
        # the image's command: uvicorn imports the app itself
        [sys.executable, "-m", "uvicorn", "api.main:app", "--port", "0"],
    ],
    ids=["worker", "uvicorn"],
)
def test_the_worker_and_the_api_refuse_bad_settings_by_variable(
    tmp_path: Path, command: list[str]
) -> None:
    """Exit 1 with the variable named on a JSON line, not a traceback (compose shows it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEIQUAN_", "OTEL_"))}
    env.update(WEIQUAN_DATA_DIR=str(tmp_path), WEIQUAN_OTEL_EXPORTER="jaeger")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "WEIQUAN_OTEL_EXPORTER: Input should be" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
