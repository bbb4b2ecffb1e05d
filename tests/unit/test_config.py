"""Production refuses the development placeholders; the embedded default seeds demo users."""

import pytest
from pydantic import ValidationError

from api.config import Settings

STRONG = {
    "environment": "production",
    "secret_key": "x" * 40,
    "service_token": "y" * 24,
    "database_url": "postgresql+psycopg://weiquan@db/weiquan",
}


def test_development_seeds_demo_users() -> None:
    assert Settings().should_seed_demo_users


def test_production_with_real_secrets_seeds_nobody() -> None:
    assert not Settings(**STRONG).should_seed_demo_users


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"secret_key": Settings().secret_key}, "WEIQUAN_SECRET_KEY"),
        ({"service_token": Settings().service_token}, "WEIQUAN_SERVICE_TOKEN"),
        ({"database_url": ""}, "WEIQUAN_DATABASE_URL"),
        ({"seed_demo_users": True}, "demo users"),
    ],
)
def test_production_refuses_placeholders(override: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(**{**STRONG, **override})
