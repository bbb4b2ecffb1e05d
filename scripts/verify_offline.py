"""Verifies a case's exported history against a signed checkpoint, offline: with the
public key and the files only, no access to the database or the service.

    python scripts/verify_offline.py --public-key audit-public-key.pem \\
        --checkpoint checkpoint.json --proof proof.json --history history.json

The files are what the API gives:
- the public key: ``pem`` of ``GET /api/v1/audit/public-key`` (compare its fingerprint with
  the one the bureau publishes);
- the checkpoint: an entry of ``GET /api/v1/audit/checkpoints``;
- the proof: ``GET /api/v1/audit/checkpoints/{id}/proof?case_no=…``;
- the history: ``GET /api/v1/cases/{case_no}/history``, exported by someone who may see
  the whole case (a sealed reporter's link is left out of other readers' views, and the
  chain covers what is stored).

It checks that the audit key signed the checkpoint, that the proof puts the case's head in
the checkpoint's tree, and that the history's chain, recomputed from its events, reaches
that head. It prints what it found and exits 0 when all hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pymerkle import InclusionProof, InvalidProof, verify_inclusion
from pymerkle.hasher import MerkleHasher

GENESIS = "0" * 64


def digest(prev_hash: str, seq: int, at: str, actor: str, type_: str, data: Any) -> str:
    """An event's hash, as the service computes it (api/casefile/history.py), from the
    exported event: its time is stored in UTC."""
    stored_at = datetime.fromisoformat(at).astimezone(UTC).isoformat()
    payload = json.dumps(
        [prev_hash, seq, stored_at, actor, type_, data],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def check(
    public_pem: bytes, checkpoint: dict[str, Any], proof: dict[str, Any], history: dict[str, Any]
) -> list[str]:
    """What fails; empty when everything holds."""
    key = serialization.load_pem_public_key(public_pem)
    if not isinstance(key, Ed25519PublicKey):
        return ["the public key is not an Ed25519 key"]
    problems = []
    message = checkpoint["message"]
    expected = f"|{checkpoint['id']}|"
    if expected not in message or not message.endswith(
        f"|{checkpoint['tree_size']}|{checkpoint['root']}"
    ):
        problems.append("the signed message does not name this checkpoint's size and root")
    try:
        key.verify(bytes.fromhex(checkpoint["signature"]), message.encode())
    except (InvalidSignature, ValueError):
        problems.append(f"checkpoint {checkpoint['id']} is not signed by this key")
    if proof["checkpoint"]["root"] != checkpoint["root"]:
        problems.append("the proof is for another checkpoint")
    leaf = proof["leaf"]
    if leaf["entry"] != f"{leaf['case_no']}|{leaf['seq']}|{leaf['head']}":
        problems.append("the proof's leaf entry does not match its case, number and head")
    base = bytes(MerkleHasher("sha256", security=True).hash_buff(leaf["entry"].encode()))
    try:
        verify_inclusion(
            base, bytes.fromhex(checkpoint["root"]), InclusionProof.deserialize(proof["proof"])
        )
    except InvalidProof:
        problems.append("the case's head is not in the checkpoint's tree")
    prev = GENESIS
    reached = None
    for expected_seq, event in enumerate(history["events"], start=1):
        if event["seq"] != expected_seq or event["prev_hash"] != prev:
            problems.append(f"the history breaks at event {expected_seq}")
            break
        computed = digest(
            prev, event["seq"], event["at"], event["actor"], event["type"], event["data"]
        )
        if computed != event["hash"]:
            problems.append(f"event {event['seq']} of the history was changed")
            break
        prev = computed
        if event["seq"] == leaf["seq"]:
            reached = computed
    if reached is None and not problems:
        problems.append(f"the history does not reach event {leaf['seq']}")
    elif reached is not None and reached != leaf["head"]:
        problems.append(f"event {leaf['seq']} is not the head the checkpoint signed")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--public-key", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--proof", type=Path, required=True)
    parser.add_argument("--history", type=Path, required=True)
    args = parser.parse_args(argv)
    problems = check(
        args.public_key.read_bytes(),
        json.loads(args.checkpoint.read_text(encoding="utf-8")),
        json.loads(args.proof.read_text(encoding="utf-8")),
        json.loads(args.history.read_text(encoding="utf-8")),
    )
    case_no = json.loads(args.proof.read_text(encoding="utf-8"))["leaf"]["case_no"]
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print(f"OK: case {case_no} matches the head the audit key signed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
