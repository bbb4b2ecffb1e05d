from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from api.config import Settings
from api.db import utcnow

ALGORITHM = "HS256"


def create_access_token(*, settings: Settings, username: str) -> str:
    now = utcnow()
    claims = {
        "sub": username,
        "iat": now,
        "exp": now + timedelta(minutes=settings.token_ttl_minutes),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


@dataclass(frozen=True)
class Bearer:
    username: str
    issued_at: datetime


def bearer_of(*, settings: Settings, token: str) -> Bearer | None:
    try:
        # A token without an expiry would be good for ever: refused, like a forged one.
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    subject, issued = claims.get("sub"), claims.get("iat")
    if not isinstance(subject, str) or not isinstance(issued, int | float):
        return None
    return Bearer(subject, datetime.fromtimestamp(issued, UTC))
