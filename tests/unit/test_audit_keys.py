"""The audit's signing key: made once by the embedded default, outside the database and
readable by its owner only; never made in production."""

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.audit.keys import KeyMissing, fingerprint, signing_key
from api.config import Settings


def test_the_embedded_default_makes_its_key_once_and_keeps_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = signing_key(settings)
    path = tmp_path / "audit-signing-key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = signing_key(Settings(data_dir=tmp_path))
    assert fingerprint(again.public_key()) == fingerprint(first.public_key())
    signature = first.sign(b"root")
    again.public_key().verify(signature, b"root")  # raises if it were another key


def test_production_names_its_key_and_never_makes_one(tmp_path: Path) -> None:
    production = {
        "environment": "production",
        "secret_key": "x" * 40,
        "service_token": "y" * 24,
        "database_url": "postgresql+psycopg://weiquan@db/weiquan",
    }
    with pytest.raises(ValidationError, match="WEIQUAN_AUDIT_KEY_FILE"):
        Settings(**production)
    missing = tmp_path / "mounted" / "key.pem"
    with pytest.raises(KeyMissing, match="missing"):
        signing_key(Settings(**production, audit_key_file=missing))
    assert not missing.exists()
