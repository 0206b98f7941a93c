"""Support-staff accounts for the review app: passwords, sessions and login rate limits.

Passwords are hashed with Argon2id (argon2-cffi). A session is a random token in an HttpOnly
cookie; only its SHA-256 is stored, beside the session's CSRF token, so a leaked database
does not hand out logins. Failed logins slow down further tries from the same address with
growing delays (bot/storage/login_limits.py); passwords are checked against a list of common ones
(bot/storage/password_policy.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Session

from bot.storage.database import Base, open_database
from bot.storage.login_limits import (
    LoginAttemptRow,
    TooManyAttempts,
    check_allowed,
    clear_failures,
    record_attempt,
)
from bot.storage.password_policy import MIN_PASSWORD_LENGTH, password_problem
from bot.storage.times import utc_now

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "SESSION_LIFETIME",
    "LoginAttemptRow",
    "StaffAccounts",
    "StaffError",
    "StaffMember",
    "StaffSession",
    "TooManyAttempts",
]

ROLES = ("reviewer", "admin")
SESSION_LIFETIME = dt.timedelta(hours=12)

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class StaffError(ValueError):
    """An account change that cannot be made; the message says why."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffAccountRow(Base):
    __tablename__ = "staff_accounts"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)
    disabled = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utc_now)


class StaffSessionRow(Base):
    __tablename__ = "staff_sessions"

    token_hash = Column(String(64), primary_key=True)
    staff_id = Column(Integer, ForeignKey("staff_accounts.id"), nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utc_now)
    expires_at = Column(DateTime, nullable=False, index=True)


@dataclass(frozen=True)
class StaffMember:
    id: int
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class StaffSession:
    token: str  # goes into the cookie; never stored
    csrf_token: str
    member: StaffMember


class StaffAccounts:
    def __init__(self, url: str | None = None) -> None:
        self.engine = open_database(url)

    # ------------------------------------------------------------------ accounts

    def create(self, username: str, password: str, role: str = "reviewer") -> StaffMember:
        username = username.strip()
        if not username or len(username) > 64 or not username.isprintable():
            raise StaffError("a user name is 1 to 64 printable characters.")
        if role not in ROLES:
            raise StaffError(f"role must be one of {', '.join(ROLES)}.")
        problem = password_problem(password, username)
        if problem:
            raise StaffError(problem)
        with Session(self.engine) as session, session.begin():
            taken = session.scalar(
                select(StaffAccountRow.id).where(StaffAccountRow.username == username)
            )
            if taken is not None:
                raise StaffError(f"'{username}' already has an account.")
            row = StaffAccountRow(
                username=username, password_hash=_hasher.hash(password), role=role, disabled=False
            )
            session.add(row)
            session.flush()
            return StaffMember(row.id, row.username, row.role)

    def set_password(self, username: str, password: str) -> None:
        problem = password_problem(password, username)
        if problem:
            raise StaffError(problem)
        with Session(self.engine) as session, session.begin():
            row = self._account(session, username)
            row.password_hash = _hasher.hash(password)
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.staff_id == row.id))

    def disable(self, username: str) -> None:
        with Session(self.engine) as session, session.begin():
            row = self._account(session, username)
            row.disabled = True
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.staff_id == row.id))

    def unlock(self, username: str) -> int:
        """Let `username` try again at once from everywhere (an admin's command after an
        attack); returns how many recent failures were forgotten."""
        with Session(self.engine) as session, session.begin():
            self._account(session, username)
            return clear_failures(session, username)

    def members(self) -> list[tuple[StaffMember, bool]]:
        with Session(self.engine) as session:
            rows = session.scalars(select(StaffAccountRow).order_by(StaffAccountRow.username))
            return [(StaffMember(r.id, r.username, r.role), r.disabled) for r in rows]

    def count(self) -> int:
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count(StaffAccountRow.id))) or 0)

    @staticmethod
    def _account(session: Session, username: str) -> StaffAccountRow:
        row = session.scalar(select(StaffAccountRow).where(StaffAccountRow.username == username))
        if row is None:
            raise StaffError(f"no account '{username}'.")
        return row

    # ------------------------------------------------------------------- logins

    def log_in(self, username: str, password: str, ip: str) -> StaffSession | None:
        """A new session, or None for a wrong name or password; raises TooManyAttempts
        (without checking the password) while this name and address must wait."""
        username = username.strip()[:64]
        ip = (ip or "unknown")[:64]
        with Session(self.engine) as session, session.begin():
            check_allowed(session, username, ip)
            row = session.scalar(
                select(StaffAccountRow).where(StaffAccountRow.username == username)
            )
            valid = _verify(row.password_hash if row else _DUMMY_HASH, password)
            ok = bool(row is not None and valid and not row.disabled)
            record_attempt(session, username, ip, ok)
            if not ok:
                return None
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session.add(
                StaffSessionRow(
                    token_hash=_digest(token),
                    staff_id=row.id,
                    csrf_token=csrf,
                    expires_at=utc_now() + SESSION_LIFETIME,
                )
            )
            return StaffSession(token, csrf, StaffMember(row.id, row.username, row.role))

    def session_for(self, token: str | None) -> StaffSession | None:
        """The live session behind a cookie value, if any."""
        if not token or len(token) > 128:
            return None
        with Session(self.engine) as session:
            found = session.execute(
                select(StaffSessionRow, StaffAccountRow)
                .join(StaffAccountRow, StaffAccountRow.id == StaffSessionRow.staff_id)
                .where(
                    StaffSessionRow.token_hash == _digest(token),
                    StaffSessionRow.expires_at > utc_now(),
                    StaffAccountRow.disabled.is_(False),
                )
            ).first()
            if found is None:
                return None
            stored, account = found
            return StaffSession(
                token, stored.csrf_token, StaffMember(account.id, account.username, account.role)
            )

    def log_out(self, token: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(StaffSessionRow).where(StaffSessionRow.token_hash == _digest(token))
            )
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.expires_at <= utc_now()))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
