from datetime import timedelta

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


def username_from_token(*, settings: Settings, token: str) -> str | None:
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
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None
