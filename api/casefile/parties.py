"""Who sees the parties' personal data, and the masked form everyone else sees."""

from typing import Any

from api.users.models import Role, User


def mask(party: dict[str, Any] | None) -> dict[str, Any] | None:
    """A party as a reader without the need sees it: 张** and 138****0000, no address."""
    if party is None:
        return None
    masked = dict(party)
    if masked.get("name"):
        masked["name"] = masked["name"][0] + "*" * (len(masked["name"]) - 1)
    for key in ("phone", "id_number"):
        if masked.get(key):
            value = masked[key]
            masked[key] = (
                value[:3] + "*" * max(len(value) - 7, 0) + value[-4:]
                if len(value) > 7
                else "*" * len(value)
            )
    masked.pop("address", None)
    return masked


def sees_parties(user: User) -> bool:
    """Operators, handlers, supervisors and stations work with the parties; others see masks."""
    return user.role in (Role.OPERATOR, Role.HANDLER, Role.SUPERVISOR, Role.STATION)
