"""The city's divisions as data: seeded from ``config/`` at start, then kept by the admin
without a deploy. A township is given to another branch (its communities and villages and
its open stations go with it); a community or village is added, renamed, or retired when
it is merged away (撤并). Every change is on record.

Cases keep their units: a division's change moves what is covered, not what is handled."""

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.db import lock_for_write, utcnow
from api.errors import Conflict, Invalid, NotAllowed, NotFound
from api.stations.models import (
    Division,
    DivisionAction,
    DivisionChange,
    DivisionCreate,
    DivisionLevel,
    DivisionRetire,
    DivisionUpdate,
    Station,
    StationChange,
)
from api.units.models import Unit, UnitKind
from api.users.models import Role, User
from api.workdays import local_date


def load_divisions(*, session: Session, path: Path, areas: Path) -> None:
    """Adds the divisions of the file the table lacks, each with the branch that covers it
    (its county's, or the one its township is given to). Those already there are kept, and
    a village new to a township already there goes with it (the admin may have moved it)."""
    known = set(session.exec(select(Division.code)).all())
    given = json.loads(areas.read_text(encoding="utf-8"))
    towns = dict(
        session.exec(
            select(Division.code, Division.branch).where(Division.level == DivisionLevel.TOWNSHIP)
        ).all()
    )
    added = []
    with path.open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            if row["code"] in known:
                continue
            township = row["township_code"] or None
            branch = (
                towns.get(township or "")
                or given["townships"].get(township or "")
                or given["counties"].get(row["county_code"])
            )
            added.append(
                Division(
                    code=row["code"],
                    level=DivisionLevel(row["level"]),
                    name=row["name"],
                    county_code=row["county_code"],
                    township_code=township if row["level"] != DivisionLevel.COUNTY else None,
                    branch=branch,
                )
            )
    if not added:
        return
    session.add_all(added)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # another process added them first


def divisions(
    *,
    session: Session,
    branch: str | None,
    level: DivisionLevel | None,
    include_retired: bool = False,
    township: str | None = None,
) -> list[Division]:
    query = select(Division)
    if branch is not None:
        query = query.where(Division.branch == branch)
    if level is not None:
        query = query.where(Division.level == level)
    if township is not None:
        query = query.where(Division.township_code == township)
    if not include_retired:
        query = query.where(col(Division.retired_on).is_(None))
    return list(session.exec(query.order_by(col(Division.code))).all())


def _admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise NotAllowed("auth.role", "the division list is the admin's")


def _locked(session: Session, code: str) -> Division:
    lock_for_write(session)  # SQLite: the write lock; PostgreSQL: the division's row below
    found = session.exec(select(Division).where(Division.code == code).with_for_update()).first()
    if found is None:
        raise NotFound("stations.no_division", f"no division {code}")
    return found


def _recorded(
    session: Session, user: User, code: str, action: DivisionAction, change: dict[str, Any]
) -> DivisionChange:
    done = DivisionChange(division=code, action=action, by=user.username, change=change)
    session.add(done)
    session.commit()
    session.refresh(done)
    return done


def add(*, session: Session, user: User, body: DivisionCreate) -> DivisionChange:
    """A community or village new to a township: covered by the township's branch, a
    place for stations and a gap until it has them."""
    _admin(user)
    lock_for_write(session)
    town = session.get(Division, body.township)
    if town is None or town.level != DivisionLevel.TOWNSHIP or town.retired_on is not None:
        raise Invalid(
            ("township", f"{body.township} is not a township"), code="stations.unknown_division"
        )
    if not body.code.startswith(town.code):
        raise Invalid(
            ("code", f"a community of {town.name} has a code beginning {town.code}"),
            code="stations.code_outside_township",
        )
    if session.get(Division, body.code) is not None:
        raise Conflict("stations.division_exists", f"{body.code} is in the list already")
    session.add(
        Division(
            code=body.code,
            level=DivisionLevel.VILLAGE,
            name=body.name,
            county_code=town.county_code,
            township_code=town.code,
            branch=town.branch,
        )
    )
    try:
        session.flush()
    except IntegrityError as clash:  # another admin added it meanwhile
        session.rollback()
        raise Conflict("stations.division_exists", f"{body.code} is in the list already") from clash
    change = {"name": body.name, "township": town.code}
    return _recorded(session, user, body.code, DivisionAction.ADDED, change)


def edit(*, session: Session, user: User, code: str, body: DivisionUpdate) -> DivisionChange | None:
    """Renames a division, or gives a township to another branch: its villages and its
    open stations go with it, each station's change on record. None if nothing changed."""
    _admin(user)
    found = _locked(session, code)
    if found.retired_on is not None:
        raise Conflict("stations.division_retired", f"{found.name} was retired")
    change: dict[str, Any] = {}
    if body.branch is not None and body.branch != found.branch:
        change |= _given(session, user, found, body.branch)
    if body.name is not None and body.name != found.name:
        change["name"] = {"from": found.name, "to": body.name}
        found.name = body.name
        session.add(found)
    if not change:
        return None
    return _recorded(session, user, code, DivisionAction.EDITED, change)


def _given(session: Session, user: User, town: Division, branch: str) -> dict[str, Any]:
    if town.level != DivisionLevel.TOWNSHIP:
        raise Invalid(
            ("code", "a township is given to a branch; its villages go with it"),
            code="stations.not_township",
            where="path",
        )
    kind = session.exec(select(Unit.kind).where(Unit.code == branch)).first()
    if kind != UnitKind.BRANCH:
        raise Invalid(("branch", f"not a branch: {branch}"), code="stations.not_branch")
    before = town.branch
    session.execute(
        sql_update(Division)
        .where((col(Division.code) == town.code) | (col(Division.township_code) == town.code))
        .values(branch=branch)
    )
    moved = list(
        session.exec(
            select(Station).where(Station.township == town.code, col(Station.closed_on).is_(None))
        )
    )
    for station in moved:
        # the change is written before the update, which refreshes ``station`` in the session
        edited = {"edited": {"branch": {"from": station.branch, "to": branch}}}
        session.add(
            StationChange(
                station=station.code, by=user.username, change=edited | {"township": town.code}
            )
        )
        session.execute(
            sql_update(Station)
            .where(col(Station.id) == station.id)
            .values(branch=branch, version=station.version + 1)
        )
    return {"branch": {"from": before, "to": branch}, "stations": [s.code for s in moved]}


def retire(*, session: Session, user: User, code: str, body: DivisionRetire) -> DivisionChange:
    """A community or village merged away (撤并): no longer a place to cover, its record and
    its stations' history kept. Its open stations are moved or closed first."""
    _admin(user)
    found = _locked(session, code)
    if found.level != DivisionLevel.VILLAGE:
        raise Invalid(
            ("code", "only a community or village is retired here"),
            code="stations.not_village",
            where="path",
        )
    if found.retired_on is not None:
        raise Conflict("stations.division_retired", f"{found.name} was retired")
    if body.merged_into is not None:
        into = session.get(Division, body.merged_into)
        if (
            into is None
            or into.code == code
            or into.level != DivisionLevel.VILLAGE
            or into.retired_on is not None
        ):
            raise Invalid(
                ("merged_into", f"{body.merged_into} is not another community or village"),
                code="stations.unknown_division",
            )
    open_here = list(
        session.exec(
            select(Station.code).where(Station.village == code, col(Station.closed_on).is_(None))
        )
    )
    if open_here:
        raise Conflict(
            "stations.division_in_use",
            f"open stations are in {found.name}: {', '.join(open_here)}",
        )
    found.retired_on = body.retired_on or local_date(utcnow())
    found.merged_into = body.merged_into
    session.add(found)
    change = {
        "reason": body.reason,
        "merged_into": body.merged_into,
        "retired_on": found.retired_on.isoformat(),
    }
    return _recorded(session, user, code, DivisionAction.RETIRED, change)


def changes(session: Session, *, township: str | None = None) -> list[DivisionChange]:
    """The admin's changes, the latest first (a township's: its own and its villages')."""
    query = select(DivisionChange)
    if township is not None:
        query = query.where(col(DivisionChange.division).startswith(township))
    return list(session.exec(query.order_by(col(DivisionChange.id).desc())))
