"""The API shapes of the audit."""

from sqlmodel import SQLModel


class VerificationPublic(SQLModel):
    """``GET /cases/{case_no}/history/verify``: the case's record checked."""

    ok: bool
    events: int  # in the case's log
    temporal_events: int  # in its workflows' Temporal histories
    # The first event that is broken, missing or unmatched, and why (when not ok).
    first_bad_seq: int | None = None
    reason: str | None = None
    # The signed checkpoint that covers the case's head (none is taken yet).
    checkpoint: dict[str, object] | None = None
    workflows: list[str] = []  # the workflows the log was held against
    unavailable: list[str] = []  # those whose history Temporal no longer holds


class PublicKeyPublic(SQLModel):
    """``GET /audit/public-key``: the key an outside auditor verifies checkpoints with."""

    algorithm: str  # Ed25519
    pem: str  # SubjectPublicKeyInfo
    fingerprint: str  # SHA-256 of the raw key, hex
