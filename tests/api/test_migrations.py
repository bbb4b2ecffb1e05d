"""The migrations build exactly the schema the models describe, and run both ways."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import api.models  # noqa: F401  (every table)
from api.migrations import config, migrate
from tests.conftest import Database


def test_migrations_match_the_models_and_downgrade_cleanly(database: Database) -> None:
    migrate(database.engine)
    with database.engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert drift == []

    command.downgrade(config(database.engine), "base")
    migrate(database.engine)
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
