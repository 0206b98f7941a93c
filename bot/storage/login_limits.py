"""Login throttling that slows password guessing without letting anyone lock staff out.

Failures are counted per (user name, client address): someone guessing `admin`'s password
from their own machine delays only themselves, and `admin` still logs in from anywhere else.
Past a few free failures each further one doubles the wait (growing delays, capped), instead
of a flat lock. A second, looser counter per address alone slows one machine trying many user
names. A success clears its pair's count; `shopdesk staff unlock` clears a user's failures.
Rows older than the longest window are pruned on every attempt, so the table stays small.
Counts live in the database, so the limits hold across app workers and restarts.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, DateTime, Integer, String, delete, func, select
from sqlalchemy.orm import Session

from bot.storage.database import Base
from bot.storage.times import utc_now

# Failures of one user name from one address before delays start, and the first delay.
FREE_FAILURES_PER_USER_AND_ADDRESS = 5
# Failures from one address, whatever the user names, before delays start.
FREE_FAILURES_PER_ADDRESS = 20
FIRST_DELAY = dt.timedelta(seconds=10)
MAX_DELAY = dt.timedelta(minutes=15)
# Failures older than this no longer count, and their rows are deleted.
FAILURE_WINDOW = dt.timedelta(hours=24)


def now() -> dt.datetime:
    """Naive UTC, as the table stores it (tests replace it to move the clock)."""
    return utc_now()


class LoginAttemptRow(Base):
    __tablename__ = "login_attempts"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, index=True)
    ip = Column(String(64), nullable=False, index=True)
    succeeded = Column(Boolean, nullable=False)
    at = Column(DateTime, nullable=False, default=now, index=True)


class TooManyAttempts(Exception):
    """Login refused without checking the password; `retry_after` seconds until the next try."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


def delay_after(failures: int, free: int) -> dt.timedelta:
    """The wait after `failures` recent failures: none for the free ones, then doubling."""
    if failures < free:
        return dt.timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - free, 30), MAX_DELAY)


@dataclass(frozen=True)
class _Recent:
    count: int
    last: dt.datetime | None


def _recent_failures(session: Session, since: dt.datetime, *where) -> _Recent:
    count, last = session.execute(
        select(func.count(LoginAttemptRow.id), func.max(LoginAttemptRow.at)).where(
            LoginAttemptRow.succeeded.is_(False), LoginAttemptRow.at >= since, *where
        )
    ).one()
    return _Recent(int(count or 0), last)


def check_allowed(session: Session, username: str, ip: str) -> None:
    """Raise TooManyAttempts while this user name and address must wait; prune old rows."""
    current = now()
    window_start = current - FAILURE_WINDOW
    session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < window_start))
    last_success = session.scalar(
        select(func.max(LoginAttemptRow.at)).where(
            LoginAttemptRow.succeeded.is_(True),
            LoginAttemptRow.username == username,
            LoginAttemptRow.ip == ip,
        )
    )
    pair_since = max(window_start, last_success) if last_success else window_start
    pair = _recent_failures(
        session, pair_since, LoginAttemptRow.username == username, LoginAttemptRow.ip == ip
    )
    address = _recent_failures(session, window_start, LoginAttemptRow.ip == ip)
    waits = [
        recent.last + delay_after(recent.count, free) - current
        for recent, free in (
            (pair, FREE_FAILURES_PER_USER_AND_ADDRESS),
            (address, FREE_FAILURES_PER_ADDRESS),
        )
        if recent.last is not None
    ]
    longest = max(waits, default=dt.timedelta(0))
    if longest > dt.timedelta(0):
        raise TooManyAttempts(max(1, math.ceil(longest.total_seconds())))


def record_attempt(session: Session, username: str, ip: str, succeeded: bool) -> None:
    session.add(LoginAttemptRow(username=username, ip=ip, succeeded=succeeded, at=now()))


def clear_failures(session: Session, username: str) -> int:
    """Forget `username`'s failed logins from every address; returns how many there were."""
    result = session.execute(
        delete(LoginAttemptRow).where(
            LoginAttemptRow.username == username, LoginAttemptRow.succeeded.is_(False)
        )
    )
    return int(result.rowcount or 0)
