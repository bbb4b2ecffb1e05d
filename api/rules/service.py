"""Rule sets (规则集) as data: seeded from the file once, then maintained by an admin.

A deadline copies its figures when it is set, so a change here governs only deadlines
set after it; the deadlines already set keep theirs.
"""

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from api.config import Settings
from api.db import utcnow
from api.errors import Conflict, Invalid, NotFound
from api.rules.models import RuleSetChange, RuleSetRecord
from api.rules.rulesets import RuleBook, RuleSet
from api.workdays import ZONE

SEED = "seed"

# The rule book last built per database, with the fingerprint it was built at. Keyed by
# the engine itself (weakly): one process may serve several databases, as the tests do.
_built: "WeakKeyDictionary[Engine, tuple[tuple[Any, ...], RuleBook]]" = WeakKeyDictionary()
_built_lock = threading.Lock()


@lru_cache
def rulebook(path: Path) -> RuleBook:
    """The rule sets of the configured file, loaded once per process."""
    return RuleBook.load(path)


def seed(*, session: Session, settings: Settings) -> None:
    """Loads the rule-set file into the table when the table is empty; else does nothing."""
    if session.exec(select(RuleSetRecord.code).limit(1)).first() is not None:
        return
    now = utcnow()
    for ruleset in rulebook(settings.rules_file).rulesets:
        document = to_document(ruleset)
        session.add(
            RuleSetRecord(
                code=ruleset.code,
                name=ruleset.name,
                effective_from=ruleset.effective_from,
                limits=document["limits"],
                grounds=document["grounds"],
                version=1,
                updated_at=now,
                updated_by=SEED,
            )
        )
        # Version 1 is on record too, so every later change can be traced back to the file.
        session.add(
            RuleSetChange(
                code=ruleset.code, version=1, at=now, by=SEED, before=None, after=document
            )
        )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # another process seeded the table first


def fingerprint_columns() -> list[Any]:
    """What tells that the rule-set table changed (every change raises a version), as
    columns of one row: the count, the versions' sum and the latest change."""
    return [
        select(func.count(col(RuleSetRecord.code))).scalar_subquery(),
        select(func.sum(RuleSetRecord.version)).scalar_subquery(),
        select(func.max(RuleSetRecord.updated_at)).scalar_subquery(),
    ]


def rules_in_force(
    *, session: Session, settings: Settings, fingerprint: tuple[Any, ...] | None = None
) -> RuleBook:
    """The rule sets every decision and deadline uses: the admin-maintained table.

    Called on every registration and workflow step, so the book is rebuilt only when the
    table's fingerprint has moved. ``fingerprint``: the values of ``fingerprint_columns``
    read by the caller (a step reads them with the calendar's in one statement); None:
    read here.
    """
    if fingerprint is None:
        fingerprint = tuple(session.exec(select(*fingerprint_columns())).one())
    if not fingerprint[0]:
        return rulebook(settings.rules_file)
    engine = session.get_bind().engine
    with _built_lock:
        built = _built.get(engine)
    if built is not None and built[0] == fingerprint:
        return built[1]
    book = RuleBook(rulesets=[to_ruleset(r) for r in list_all(session=session)])
    with _built_lock:
        _built[engine] = (fingerprint, book)
    return book


def list_all(*, session: Session) -> list[RuleSetRecord]:
    return list(
        session.exec(select(RuleSetRecord).order_by(col(RuleSetRecord.effective_from))).all()
    )


def get(*, session: Session, code: str) -> RuleSetRecord | None:
    return session.get(RuleSetRecord, code)


def changes(*, session: Session, code: str) -> list[RuleSetChange]:
    """The recorded changes of a rule set, newest first."""
    return list(
        session.exec(
            select(RuleSetChange)
            .where(RuleSetChange.code == code)
            .order_by(col(RuleSetChange.version).desc())
        ).all()
    )


def update(
    *,
    session: Session,
    code: str,
    body: dict[str, Any],
    by: str,
    expected_version: int | None = None,
) -> RuleSetRecord:
    """Replaces a rule set with ``body`` (the whole set) as a new version, on record.

    Identical content changes nothing. ``expected_version``, when given, must be the
    current version (409 otherwise), so one admin cannot silently undo another's change.
    """
    record = get(session=session, code=code)
    if record is None:
        raise NotFound("rules.not_found", f"rule set {code} not found")
    if body.get("code", code) != code:
        raise _unprocessable(["code"], f"the body's code {body['code']!r} is not {code!r}")
    try:
        ruleset = RuleSet.model_validate({**body, "code": code})
    except ValidationError as error:
        raise Invalid(
            errors=[
                {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in error.errors(include_url=False)
            ]
        ) from error
    current = to_ruleset(record)
    after = to_document(ruleset)
    if after == to_document(current):
        return record
    if expected_version is not None and expected_version != record.version:
        raise Conflict(
            "rules.stale_version",
            f"rule set {code} is at version {record.version}, not {expected_version}",
        )
    _check_still_usable(current, ruleset)
    for other in list_all(session=session):
        if other.code != code and other.effective_from == ruleset.effective_from:
            raise _unprocessable(
                ["effective_from"], f"rule set {other.code} already takes effect at that instant"
            )
    now = utcnow()
    record.name = ruleset.name
    record.effective_from = ruleset.effective_from
    record.limits = after["limits"]
    record.grounds = after["grounds"]
    record.version += 1
    record.updated_at = now
    record.updated_by = by
    session.add(record)
    session.add(
        RuleSetChange(
            code=code,
            version=record.version,
            at=now,
            by=by,
            before=to_document(current),
            after=after,
        )
    )
    try:
        session.commit()
    except IntegrityError as error:
        # (code, version) is unique: another admin's change of the same version won.
        session.rollback()
        raise Conflict(
            "rules.changed", f"rule set {code} was changed meanwhile; load it again and retry"
        ) from error
    return record


def to_ruleset(record: RuleSetRecord) -> RuleSet:
    return RuleSet.model_validate(
        {
            "code": record.code,
            "name": record.name,
            "effective_from": record.effective_from,
            "limits": record.limits,
            "grounds": record.grounds,
        }
    )


def to_document(ruleset: RuleSet) -> dict[str, Any]:
    """The rule set as stored and as recorded in a change: JSON, local time, no nulls."""
    local = ruleset.model_copy(update={"effective_from": ruleset.effective_from.astimezone(ZONE)})
    return local.model_dump(mode="json", by_alias=True, exclude_none=True)


def _check_still_usable(current: RuleSet, new: RuleSet) -> None:
    """Deadlines and callbacks look limits up by name: dropping one would stop every case
    that reaches it, so a limit may change its figures but not go or lose its kind."""
    for name, limit in current.limits.items():
        replacement = new.limits.get(name)
        if replacement is None:
            raise _unprocessable(["limits", name], f"the limit {name} is in use; keep it")
        clock = limit.working_days or limit.calendar_days
        if clock and not (replacement.working_days or replacement.calendar_days):
            raise _unprocessable(
                ["limits", name], f"the limit {name} needs working_days or calendar_days"
            )
        if limit.count and not replacement.count:
            raise _unprocessable(["limits", name], f"the limit {name} needs a count")
        if limit.expiry_ground and not replacement.expiry_ground:
            raise _unprocessable(
                ["limits", name, "expiry_ground"],
                f"the limit {name} ends a step by itself: it needs its expiry_ground",
            )


def _unprocessable(loc: list[str], message: str) -> Invalid:
    return Invalid(errors=[{"loc": ["body", *loc], "msg": message, "type": "value_error"}])
