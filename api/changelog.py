"""A recorded change of reference data (a year's calendar, a rule set), as the API shows it."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ChangePublic(BaseModel):
    """Who changed it, when, and the whole of it before (None: created) and after."""

    at: datetime
    by: str
    before: dict[str, Any] | None
    after: dict[str, Any]
