from functools import lru_cache
from pathlib import Path

from api.rules.rulesets import RuleBook


@lru_cache
def rulebook(path: Path) -> RuleBook:
    """The rule sets of the configured file, loaded once per process."""
    return RuleBook.load(path)
