"""The audit's checkpoints and their leaves, the archived histories, and its API shapes."""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow


class AuditLeaf(SQLModel, table=True):
    """One entry of the audit's append-only Merkle log: a case's head (its last event's
    number and hash) as a checkpoint found it. A checkpoint appends the heads that moved
    since the one before, so every tree contains every earlier one (RFC 6962)."""

    __table_args__ = (Index("ix_auditleaf_case_no_index", "case_no", "index"),)

    index: int = Field(primary_key=True)  # 1-based, as the tree counts
    case_no: str = Field(max_length=32)
    seq: int
    head: str = Field(max_length=64)
    checkpoint_id: int = Field(foreign_key="auditcheckpoint.id", index=True)


class AuditCheckpoint(SQLModel, table=True):
    """A signed Merkle root over the leaves 1..tree_size."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)  # the workflow that took it: once per key
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    tree_size: int
    root: str = Field(max_length=64)
    signature: str = Field(max_length=128)  # Ed25519 over ``signed_message``, hex
    key_fingerprint: str = Field(max_length=64)


def signed_message(*, id: int, at: datetime, tree_size: int, root: str) -> bytes:
    """What a checkpoint's signature covers."""
    return f"weiquan-checkpoint/v1|{id}|{at.isoformat()}|{tree_size}|{root}".encode()


class VerificationPublic(SQLModel):
    """``GET /cases/{case_no}/history/verify``: the case's record checked."""

    ok: bool
    events: int  # in the case's log
    temporal_events: int  # in its workflows' Temporal histories
    # The first event that is broken, missing or unmatched, and why (when not ok).
    first_bad_seq: int | None = None
    reason: str | None = None
    # The latest signed checkpoint that covers the case, and the head it signed.
    checkpoint: "CoverPublic | None" = None
    workflows: list[str] = []  # the workflows the log was held against
    unavailable: list[str] = []  # those whose history neither Temporal nor the archive holds
    archived: list[str] = []  # those read from the archive (Temporal deleted them)


class PublicKeyPublic(SQLModel):
    """``GET /audit/public-key``: the key an outside auditor verifies checkpoints with."""

    algorithm: str  # Ed25519
    pem: str  # SubjectPublicKeyInfo
    fingerprint: str  # SHA-256 of the raw key, hex


class CheckpointPublic(SQLModel):
    id: int
    at: datetime
    tree_size: int
    root: str
    signature: str
    key_fingerprint: str
    message: str  # the exact text the signature covers


class CheckpointsPublic(SQLModel):
    data: list[CheckpointPublic]
    count: int


class LeafPublic(SQLModel):
    index: int
    case_no: str
    seq: int
    head: str
    entry: str  # the bytes hashed into the tree, as text


class InclusionPublic(SQLModel):
    """The proof that a case's head, as the checkpoint found it, is in its tree."""

    checkpoint: CheckpointPublic
    leaf: LeafPublic
    proof: dict[str, Any]  # pymerkle's serialised inclusion proof (RFC 6962 hashing)


class ConsistencyPublic(SQLModel):
    """The proof that the earlier checkpoint's tree is a prefix of the later one's: nothing
    it covered was altered or removed."""

    earlier: CheckpointPublic
    later: CheckpointPublic
    proof: dict[str, Any]


class CoverPublic(SQLModel):
    """The checkpoint that covers a case: the head it signed, which the log must still have."""

    id: int
    at: datetime
    tree_size: int
    root: str
    seq: int
    head: str


VerificationPublic.model_rebuild()


class AuditArchive(SQLModel, table=True):
    """A closed workflow's Temporal history, exported as JSON (``WorkflowHistory.to_json``)
    before Temporal's retention deletes it. Its SHA-256 is in the case's log (the event
    ``history_archived``), so the chain, and the checkpoints, cover it."""

    __table_args__ = (UniqueConstraint("workflow_id", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(max_length=32, index=True)
    workflow_id: str = Field(max_length=100)
    run_id: str = Field(max_length=64)
    events: int
    sha256: str = Field(max_length=64)
    history: str = Field(sa_type=Text)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
