from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlmodel import Session, select

from api.users.models import Role, User

hasher = PasswordHasher()
# Verifying against this keeps the timing of an unknown username like a wrong password.
_DUMMY_HASH = hasher.hash("not-a-password")


def get_by_username(*, session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    user = get_by_username(session=session, username=username)
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return user if user and user.active else None


def create(*, session: Session, username: str, password: str, role: Role, unit: str) -> User:
    user = User(username=username, password_hash=hasher.hash(password), role=role, unit=unit)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user
