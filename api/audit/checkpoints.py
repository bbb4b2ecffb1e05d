"""Signed checkpoints of every case log's head: a Merkle tree in the style of RFC 6962
(``pymerkle``), its root signed with the audit's Ed25519 key (``api.audit.keys``).

A hash chain alone can be recomputed by whoever holds the database; a signed root cannot be
made again without the key, which is not in the database. Each checkpoint appends to one
append-only log the heads that moved since the one before (a case's last event number and
hash), so an earlier tree is always a prefix of a later one: the consistency proof between
two checkpoints shows that nothing the earlier covered was altered or removed.
"""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pymerkle import ConsistencyProof, InclusionProof, InmemoryTree
from pymerkle.hasher import MerkleHasher
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.audit.keys import fingerprint
from api.audit.models import (
    AuditCheckpoint,
    AuditLeaf,
    CheckpointPublic,
    CheckpointsPublic,
    LeafPublic,
    signed_message,
)
from api.casefile.models import Event
from api.db import lock_for_write, utcnow
from api.errors import NotFound
from api.workdays import ZONE

ALGORITHM = "sha256"


def entry(case_no: str, seq: int, head: str) -> bytes:
    """The bytes a leaf hashes (RFC 6962: the tree hashes them with a 0x00 prefix)."""
    return f"{case_no}|{seq}|{head}".encode()


def leaf_hash(leaf: AuditLeaf) -> bytes:
    """The leaf's hash as the tree has it (RFC 6962: SHA-256 over 0x00 and the entry)."""
    return bytes(
        MerkleHasher(ALGORITHM, security=True).hash_buff(entry(leaf.case_no, leaf.seq, leaf.head))
    )


def tree(leaves: list[AuditLeaf]) -> InmemoryTree:
    built = InmemoryTree(algorithm=ALGORITHM)
    for leaf in leaves:
        built.append_entry(entry(leaf.case_no, leaf.seq, leaf.head))
    return built


def heads(session: Session) -> list[tuple[str, int, str]]:
    """Every case's head: (case number, last event's number, its hash), by case number."""
    last = (
        select(Event.case_no, func.max(Event.seq).label("seq"))
        .group_by(col(Event.case_no))
        .subquery()
    )
    rows = session.exec(
        select(Event.case_no, Event.seq, Event.hash)
        .join(last, (col(Event.case_no) == last.c.case_no) & (col(Event.seq) == last.c.seq))
        .order_by(col(Event.case_no))
    ).all()
    return [(case_no, seq, hash_) for case_no, seq, hash_ in rows]


def take(*, session: Session, key: Ed25519PrivateKey, name: str) -> AuditCheckpoint:
    """Appends the heads that moved and signs the new root; once per ``name`` (the
    workflow that asks: a retried activity gets the checkpoint it took)."""
    lock_for_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(func.pg_advisory_xact_lock(func.hashtext("audit-checkpoint"))))
    done = session.exec(select(AuditCheckpoint).where(AuditCheckpoint.key == name)).first()
    if done is not None:
        session.rollback()
        return done
    leaves = list(session.exec(select(AuditLeaf).order_by(col(AuditLeaf.index))).all())
    latest = {leaf.case_no: (leaf.seq, leaf.head) for leaf in leaves}
    moved = [(no, seq, head) for no, seq, head in heads(session) if latest.get(no) != (seq, head)]
    checkpoint = AuditCheckpoint(
        key=name, at=utcnow(), tree_size=0, root="", signature="", key_fingerprint=""
    )
    session.add(checkpoint)
    session.flush()
    assert checkpoint.id is not None
    for offset, (case_no, seq, head) in enumerate(moved, start=len(leaves) + 1):
        leaf = AuditLeaf(
            index=offset, case_no=case_no, seq=seq, head=head, checkpoint_id=checkpoint.id
        )
        session.add(leaf)
        leaves.append(leaf)
    built = tree(leaves)
    checkpoint.tree_size = len(leaves)
    checkpoint.root = built.get_root().hex() if leaves else ""
    message = signed_message(
        id=checkpoint.id, at=checkpoint.at, tree_size=checkpoint.tree_size, root=checkpoint.root
    )
    checkpoint.signature = key.sign(message).hex()
    checkpoint.key_fingerprint = fingerprint(key.public_key())
    session.add(checkpoint)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # the same workflow's other attempt took it meanwhile
        found = session.exec(select(AuditCheckpoint).where(AuditCheckpoint.key == name)).one()
        return found
    return checkpoint


def signature_holds(checkpoint: AuditCheckpoint, public: Ed25519PublicKey) -> bool:
    message = signed_message(
        id=checkpoint.id or 0,
        at=checkpoint.at,
        tree_size=checkpoint.tree_size,
        root=checkpoint.root,
    )
    try:
        public.verify(bytes.fromhex(checkpoint.signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def to_public(checkpoint: AuditCheckpoint) -> CheckpointPublic:
    message = signed_message(
        id=checkpoint.id or 0,
        at=checkpoint.at,
        tree_size=checkpoint.tree_size,
        root=checkpoint.root,
    )
    return CheckpointPublic(
        id=checkpoint.id or 0,
        at=checkpoint.at.astimezone(ZONE),
        tree_size=checkpoint.tree_size,
        root=checkpoint.root,
        signature=checkpoint.signature,
        key_fingerprint=checkpoint.key_fingerprint,
        message=message.decode(),
    )


def leaf_public(leaf: AuditLeaf) -> LeafPublic:
    return LeafPublic(
        index=leaf.index,
        case_no=leaf.case_no,
        seq=leaf.seq,
        head=leaf.head,
        entry=entry(leaf.case_no, leaf.seq, leaf.head).decode(),
    )


def get(*, session: Session, checkpoint_id: int) -> AuditCheckpoint:
    found = session.get(AuditCheckpoint, checkpoint_id)
    if found is None:
        raise NotFound("checkpoint.not_found", f"checkpoint {checkpoint_id} not found")
    return found


def covering(*, session: Session, case_no: str) -> tuple[AuditCheckpoint, AuditLeaf] | None:
    """The latest checkpoint, with the case's latest leaf in it, if any covers the case."""
    leaf = session.exec(
        select(AuditLeaf).where(AuditLeaf.case_no == case_no).order_by(col(AuditLeaf.index).desc())
    ).first()
    if leaf is None:
        return None
    latest = session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc())).first()
    assert latest is not None
    return latest, leaf


# The trees proofs were taken from, by the checkpoint's size and signed root: the leaves are
# append-only, so that tree never changes (a leaf altered in the database afterwards no
# longer hashes into the signed root, whichever tree the proof comes from). A few are
# kept: the latest checkpoints'.
_TREES: dict[tuple[int, str], InmemoryTree] = {}
_TREES_KEPT = 4


def tree_of(session: Session, checkpoint: AuditCheckpoint) -> InmemoryTree:
    key = (checkpoint.tree_size, checkpoint.root)
    built = _TREES.get(key)
    if built is None:
        built = tree(leaves_up_to(session, checkpoint.tree_size))
        if len(_TREES) >= _TREES_KEPT:
            _TREES.pop(next(iter(_TREES)))
        _TREES[key] = built
    return built


def leaves_up_to(session: Session, size: int) -> list[AuditLeaf]:
    return list(
        session.exec(
            select(AuditLeaf).where(col(AuditLeaf.index) <= size).order_by(col(AuditLeaf.index))
        ).all()
    )


def inclusion(
    *, session: Session, checkpoint: AuditCheckpoint, case_no: str
) -> tuple[AuditLeaf, InclusionProof]:
    """The case's latest leaf within the checkpoint's tree, and the proof it is there."""
    leaf = session.exec(
        select(AuditLeaf)
        .where(AuditLeaf.case_no == case_no, col(AuditLeaf.index) <= checkpoint.tree_size)
        .order_by(col(AuditLeaf.index).desc())
    ).first()
    if leaf is None:
        raise NotFound(
            "checkpoint.case_not_covered",
            f"checkpoint {checkpoint.id} does not cover case {case_no}",
        )
    return leaf, tree_of(session, checkpoint).prove_inclusion(leaf.index, checkpoint.tree_size)


def consistency(
    *, session: Session, earlier: AuditCheckpoint, later: AuditCheckpoint
) -> ConsistencyProof:
    return tree_of(session, later).prove_consistency(earlier.tree_size, later.tree_size)


def listing(*, session: Session, limit: int, offset: int) -> CheckpointsPublic:
    count = session.exec(select(func.count()).select_from(AuditCheckpoint)).one()
    rows = session.exec(
        select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc()).offset(offset).limit(limit)
    ).all()
    return CheckpointsPublic(data=[to_public(c) for c in rows], count=count)


def public_of(*, session: Session, checkpoint_id: int) -> CheckpointPublic:
    return to_public(get(session=session, checkpoint_id=checkpoint_id))
