"""Data migrations of the stored rule sets: a release that needs a new statutory figure
brings it from the configured rule-set file into the rule sets an admin already keeps."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

DEFAULT_RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "rulesets.json"
BY = "migration"
ZONE = ZoneInfo("Asia/Shanghai")

_record = sa.table(
    "rulesetrecord",
    sa.column("code", sa.String),
    sa.column("limits", sa.JSON),
    sa.column("version", sa.Integer),
    sa.column("updated_at", sa.DateTime),
    sa.column("updated_by", sa.String),
    sa.column("name", sa.String),
    sa.column("effective_from", sa.DateTime),
    sa.column("grounds", sa.JSON),
)
_change = sa.table(
    "rulesetchange",
    sa.column("code", sa.String),
    sa.column("version", sa.Integer),
    sa.column("at", sa.DateTime),
    sa.column("by", sa.String),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
)


def add_missing_limits(connection: Connection, rules_file: Path | None) -> None:
    """Adds to each stored rule set the limits (and keys of limits) the file has and it lacks.

    Figures an admin changed are kept; each rule set changed gets a new version and a
    recorded change by ``migration``. An empty table (a new database) is left to the seed.
    """
    path = Path(rules_file or DEFAULT_RULES_FILE)
    wanted = {
        r["code"]: r["limits"] for r in json.loads(path.read_text(encoding="utf-8"))["rulesets"]
    }
    rows = connection.execute(sa.select(_record)).mappings().all()
    for row in rows:
        limits: dict[str, Any] = dict(row["limits"])
        added = False
        for name, figures in wanted.get(row["code"], {}).items():
            clean = {k: v for k, v in figures.items() if not k.startswith("_")}
            if name not in limits:
                limits[name] = clean
                added = True
                continue
            for key, value in clean.items():
                if key not in limits[name]:
                    limits[name] = {**limits[name], key: value}
                    added = True
        if not added:
            continue
        now = datetime.now(UTC)
        # SQLite stores this column naive (as UTC); PostgreSQL takes the aware value.
        stamp = now.replace(tzinfo=None) if connection.dialect.name == "sqlite" else now
        before = _document(row, row["limits"])
        after = _document(row, limits)
        version = row["version"] + 1
        connection.execute(
            sa.update(_record)
            .where(_record.c.code == row["code"])
            .values(limits=limits, version=version, updated_at=stamp, updated_by=BY)
        )
        connection.execute(
            sa.insert(_change).values(
                code=row["code"], version=version, at=stamp, by=BY, before=before, after=after
            )
        )


def _document(row: Any, limits: dict[str, Any]) -> dict[str, Any]:
    """The shape ``api.rules.service.to_document`` records: local time, as JSON."""
    effective = row["effective_from"]
    if isinstance(effective, str):
        effective = datetime.fromisoformat(effective)
    if effective.tzinfo is None:
        effective = effective.replace(tzinfo=UTC)
    return {
        "code": row["code"],
        "name": row["name"],
        "effective_from": effective.astimezone(ZONE).isoformat(),
        "limits": limits,
        "grounds": row["grounds"],
    }
