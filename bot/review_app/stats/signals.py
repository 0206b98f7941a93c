"""The dashboard's frustration and language figures: how many customer messages of a range of
UTC days were frustrated, and how many were in a language other than English.

Read from the message index, the same rows that the conversation list's `frustrated` and
`language` filters read, so a figure's link lists exactly the conversations it counted.
Messages logged before the signals were detected count as neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from bot.nlu.message_signals import ENGLISH
from bot.storage.conversation_index import MESSAGES, sync
from bot.storage.times import day_start


@dataclass(frozen=True)
class SignalShares:
    since: dt.date
    until: dt.date
    messages: int
    frustrated: int
    other_language: int

    @property
    def frustrated_share(self) -> float | None:
        return self.frustrated / self.messages if self.messages else None

    @property
    def other_language_share(self) -> float | None:
        return self.other_language / self.messages if self.messages else None


def signal_shares(engine: Engine, since: dt.date, until: dt.date) -> SignalShares:
    """The counts for the UTC days `since` to `until`, both included."""
    sync(engine)
    m = MESSAGES.c
    start, end = day_start(since), day_start(until + dt.timedelta(days=1))
    other = and_(m.language.isnot(None), m.language != ENGLISH)
    query = select(
        func.count(),
        func.sum(case((m.frustrated.is_(True), 1), else_=0)),
        func.sum(case((other, 1), else_=0)),
    ).where(m.at >= start, m.at < end)
    with engine.connect() as connection:
        messages, frustrated, other_language = connection.execute(query).one()
    return SignalShares(since, until, int(messages), int(frustrated or 0), int(other_language or 0))
