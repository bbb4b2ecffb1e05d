"""The audit's signing key (Ed25519): it signs the checkpoints of the case logs' heads.

It lives in a file outside the application database (``WEIQUAN_AUDIT_KEY_FILE``): the
embedded default makes one in its data dir on first use, readable by its owner only;
production reads a mounted secret and never makes one. Whoever holds the database alone
can rewrite a chain consistently, but cannot sign it.
"""

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from api.config import Settings


class KeyMissing(Exception):
    """Production names a signing key file that is not there."""


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    path = settings.effective_audit_key_file
    try:
        return _load(path)
    except FileNotFoundError:
        if settings.environment != "development":
            raise KeyMissing(f"the audit signing key {path} is missing: mount it") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # O_EXCL: the API and the worker may start at once; the first one's key wins.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} holds no Ed25519 private key")
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: what an auditor compares by telephone."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()
