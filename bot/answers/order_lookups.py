"""Limits on failed order look-ups, so order numbers and e-mails cannot be guessed.

Before the bot tells anything about an order, the customer shows they placed it (the order's
e-mail address, actions/ownership.py). Every failed check (an unknown number or a wrong
e-mail, which the customer cannot tell apart) is recorded here, per conversation and per
client address (the `client_address` the channels put into the message metadata). Once a
conversation or an address has too many failures within the window, further look-ups are
refused without checking anything, and the customer is offered a person.

The failures are rows in shopdesk's database (table `order_lookup_failures`, migration 0004),
so every action-server process counts the same ones; rows older than the window are deleted
whenever a failure is recorded. A successful check does not clear the count: otherwise
someone who owns one order could reset it between guesses at others.

Limits (defaults in `LookupLimits`), overridable by environment variables:

    SHOPDESK_ORDER_LOOKUP_MAX_PER_CONVERSATION   failures per conversation     (3)
    SHOPDESK_ORDER_LOOKUP_MAX_PER_ADDRESS        failures per client address   (10)
    SHOPDESK_ORDER_LOOKUP_WINDOW_SECONDS         how long a failure counts     (900)
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Integer, String, delete, func, select
from sqlalchemy.orm import Session

from bot.storage.database import Base, open_database
from bot.storage.times import utc_now

MAX_PER_CONVERSATION_VARIABLE = "SHOPDESK_ORDER_LOOKUP_MAX_PER_CONVERSATION"
MAX_PER_ADDRESS_VARIABLE = "SHOPDESK_ORDER_LOOKUP_MAX_PER_ADDRESS"
WINDOW_VARIABLE = "SHOPDESK_ORDER_LOOKUP_WINDOW_SECONDS"
MAX_ADDRESS_CHARS = 64


class LookupLimitsError(ValueError):
    """A limit in the environment that is not a positive whole number; names the variable."""


@dataclass(frozen=True)
class LookupLimits:
    per_conversation: int = 3
    per_address: int = 10
    window: dt.timedelta = dt.timedelta(minutes=15)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> LookupLimits:
        """The defaults, with whatever the environment sets instead."""
        environ = os.environ if environ is None else environ
        defaults = cls()

        def read(name: str, default: int) -> int:
            raw = (environ.get(name) or "").strip()
            if not raw:
                return default
            if not raw.isdigit() or int(raw) < 1:
                raise LookupLimitsError(f"{name}={raw!r}: expected a whole number above 0")
            return int(raw)

        return cls(
            per_conversation=read(MAX_PER_CONVERSATION_VARIABLE, defaults.per_conversation),
            per_address=read(MAX_PER_ADDRESS_VARIABLE, defaults.per_address),
            window=dt.timedelta(
                seconds=read(WINDOW_VARIABLE, int(defaults.window.total_seconds()))
            ),
        )


class OrderLookupFailure(Base):
    __tablename__ = "order_lookup_failures"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    client_address = Column(String(MAX_ADDRESS_CHARS), index=True)
    at = Column(DateTime, nullable=False, index=True)


def address_or_none(value: object) -> str | None:
    """A usable client address from message metadata; anything else counts as absent."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_ADDRESS_CHARS]


class OrderLookups:
    """Counts failed look-ups and says when a conversation or address must stop."""

    def __init__(
        self,
        url: str | None = None,
        limits: LookupLimits | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.limits = limits or LookupLimits.from_environment()
        self.clock = clock
        self.engine = open_database(url)

    def refused(self, conversation_id: str, client_address: str | None) -> bool:
        """True while this conversation or address has used up its failures."""
        since = self.clock() - self.limits.window
        recent = OrderLookupFailure.at >= since
        with Session(self.engine) as session:
            in_conversation = session.scalar(
                select(func.count(OrderLookupFailure.id)).where(
                    recent, OrderLookupFailure.conversation_id == conversation_id
                )
            )
            if in_conversation >= self.limits.per_conversation:
                return True
            address = address_or_none(client_address)
            if address is None:
                return False
            from_address = session.scalar(
                select(func.count(OrderLookupFailure.id)).where(
                    recent, OrderLookupFailure.client_address == address
                )
            )
            return from_address >= self.limits.per_address

    def record_failure(self, conversation_id: str, client_address: str | None) -> None:
        """Count one failed check, and delete failures that no longer count."""
        current = self.clock()
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(OrderLookupFailure).where(
                    OrderLookupFailure.at < current - self.limits.window
                )
            )
            session.add(
                OrderLookupFailure(
                    conversation_id=conversation_id,
                    client_address=address_or_none(client_address),
                    at=current,
                )
            )
