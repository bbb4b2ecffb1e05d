"""Alembic migrations of the application database, run by the API on start-up."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent


def config(engine: Engine | None = None, rules_file: Path | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    # The configured rule-set file: a data migration may add the figures it introduces.
    cfg.attributes["rules_file"] = rules_file
    return cfg


def migrate(engine: Engine, rules_file: Path | None = None) -> None:
    """Brings the schema to the newest revision (a no-op when it is there already)."""
    command.upgrade(config(engine, rules_file), "head")
