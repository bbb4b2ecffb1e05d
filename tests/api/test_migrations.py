"""The migrations build exactly the schema the models describe, and run both ways."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, select

import api.models  # noqa: F401  (every table)
from api.casefile.lifecycle import CaseKind, Channel, Status
from api.casefile.models import Case
from api.deadlines.models import Deadline, DeadlinePause
from api.main import prepare_database
from api.migrations import config, migrate
from api.rules import service as rules
from api.tasks.models import Task, TaskKind
from api.units.models import Unit
from api.users.models import Role, User
from tests.conftest import Database

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_match_the_models_and_downgrade_cleanly(database: Database) -> None:
    migrate(database.engine)
    with database.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert drift == []

    command.downgrade(config(database.engine), "base")
    migrate(database.engine)
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_an_upgrade_adds_the_ladders_figures_to_rule_sets_an_admin_keeps(
    database: Database, tmp_path: Path
) -> None:
    """Rule sets stored before the mediation ladder get its figures from the configured
    file, on record; a figure an admin changed is kept."""
    full = json.loads(database.settings.rules_file.read_text(encoding="utf-8"))
    before = json.loads(json.dumps(full))
    for ruleset in before["rulesets"]:
        for name in LADDER_LIMITS:
            del ruleset["limits"][name]
        del ruleset["limits"]["handle"]["expiry_ground"]
        ruleset["limits"]["handle"]["working_days"] = 40  # an admin's own figure
    old_file = tmp_path / "rulesets-0005.json"
    old_file.write_text(json.dumps(before, ensure_ascii=False), encoding="utf-8")

    command.upgrade(config(database.engine), "0005")
    with Session(database.engine) as session:
        rules.seed(
            session=session, settings=database.settings.model_copy(update={"rules_file": old_file})
        )
    migrate(database.engine, database.settings.rules_file)

    with Session(database.engine) as session:
        for record in rules.list_all(session=session):
            assert set(LADDER_LIMITS) <= set(record.limits)
            assert record.limits["handle"] == {
                "working_days": 40,
                "from": "accepted",
                "expiry_ground": "T21-5",
            }
            assert record.limits["judicial_confirmation"]["calendar_days"] == 30
            assert record.version == 2 and record.updated_by == "migration"
            change = rules.changes(session=session, code=record.code)[0]
            assert (change.version, change.by) == (2, "migration")
            assert "reconcile" not in change.before["limits"]
            assert "reconcile" in change.after["limits"]
            rules.to_ruleset(record)  # still a valid rule set


LADDER_LIMITS = (
    "reconcile",
    "people_mediation",
    "judicial_confirmation",
    "court_ruling",
    "court_outcome",
)


def test_migrations_run_both_ways_on_a_database_with_cases_in_it(database: Database) -> None:
    """An upgrade meets rows: SQLite re-creates altered tables that other rows refer to."""
    prepare_database(database.engine, database.settings)
    now = datetime.now(UTC)
    with Session(database.engine) as session:
        session.add(
            Case(
                case_no="TS1",
                kind=CaseKind.COMPLAINT,
                channel=Channel.HOTLINE,
                status=Status.HANDLING,
                unit="guichi",
                received_at=now,
                registered_by="operator",
                registered_unit="city",
                rule_set="samr-order-121",
                description="冰箱不制冷",
            )
        )
        session.flush()
        deadline = Deadline(
            case_no="TS1",
            name="handle",
            unit="guichi",
            started_on=now.date(),
            working_days=45,
            due_date=now.date(),
            due_at=now,
            rule_set="samr-order-121",
        )
        session.add(deadline)
        session.flush()
        session.add(
            Task(
                case_no="TS1",
                kind=TaskKind.HANDLE,
                role=Role.HANDLER,
                unit="guichi",
                deadline_id=deadline.id,
            )
        )
        session.add(
            DeadlinePause(deadline_id=deadline.id or 0, case_no="TS1", started_at=now, by="guichi")
        )
        session.commit()

    command.downgrade(config(database.engine), "0005")
    migrate(database.engine, database.settings.rules_file)

    with Session(database.engine) as session:
        (kept,) = session.exec(select(Deadline)).all()
        assert (kept.name, kept.policy, kept.mediation_id) == ("handle", "supervise", None)
        assert session.exec(select(Task)).one().deadline_id == kept.id
        assert session.exec(select(DeadlinePause)).one().deadline_id == kept.id


# What each API process does at start-up, in a process of its own: once imported, it
# says so and waits for the word to go, so that all start at the same moment.
START_UP = """
import sys

from api.config import get_settings
from api.db import make_engine
from api.main import prepare_database

settings = get_settings()
engine = make_engine(settings)
print("ready", flush=True)
sys.stdin.readline()
prepare_database(engine, settings)
"""


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_api_processes_starting_at_once_migrate_and_seed_one_after_another(
    database: Database, tmp_path: Path
) -> None:
    """Three API processes start on one new PostgreSQL schema at the same moment
    (WEIQUAN_API_PROCESSES, api replicas): each starts, and the schema is migrated and
    seeded once. Without the start-up's advisory lock this failed in three runs of three
    (``alembic_version`` created by two processes at once)."""
    settings = database.settings
    env = {
        **os.environ,
        "WEIQUAN_DATA_DIR": str(tmp_path),
        "WEIQUAN_DATABASE_URL": settings.database_url,
        "WEIQUAN_DATABASE_SCHEMA": settings.database_schema,
        "WEIQUAN_SERVICE_TOKEN": settings.service_token,
        "WEIQUAN_SEED_DEMO_USERS": "true",
    }
    starting = [
        subprocess.Popen(
            [sys.executable, "-c", START_UP],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    for each in starting:
        assert each.stdout is not None and each.stdout.readline() == "ready\n"
    for each in starting:
        assert each.stdin is not None
        each.stdin.write("go\n")
        each.stdin.flush()
    for each in starting:
        output, _ = each.communicate(timeout=120)
        assert each.returncode == 0, output[-3000:]

    org = json.loads(settings.org_file.read_text(encoding="utf-8"))
    with Session(database.engine) as session:
        assert len(session.exec(select(Unit)).all()) == len(org["units"])
        usernames = session.exec(select(User.username)).all()
        assert len(usernames) == len(set(usernames)) > 0
        assert len(rules.list_all(session=session)) == len(
            json.loads(settings.rules_file.read_text(encoding="utf-8"))["rulesets"]
        )
