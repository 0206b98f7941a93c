"""A searchable index of the conversation log, for the review app's lists and filters.

Rasa's `events` table keeps confidence, channel and answer sources inside a JSON column, which
SQL cannot filter portably. `sync` copies what the filters need into two tables of ours, one
row per customer message and one per conversation (`bot/storage/index_rows.py` builds both from an
event), reading only events it has not applied (the way Rasa X consumed the event stream;
`bot/storage/index_window.py` says how it knows which, so that an event committed late by another
Rasa worker is never skipped). The review app calls it before each list it shows. Emptied,
the index is rebuilt from the whole log by the next sync (migration 0005 does that).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    String,
    Text,
    and_,
    exists,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from bot.nlu.message_signals import ENGLISH
from bot.nlu.text import normalise
from bot.storage.conversation_log import EVENTS
from bot.storage.database import Base
from bot.storage.handoffs_and_feedback import AnswerFeedback
from bot.storage.index_rows import message_values, new_conversation, updated_conversation
from bot.storage.index_window import (
    LAG_SECONDS,
    Window,
    can_close,
    close_window,
    ensure_state,
    open_window,
    read_window,
    remember,
)
from bot.storage.reviews import ConversationReviewRow
from bot.storage.times import day_start, utc_from_timestamp

SYNC_BATCH = 5000


class MessageIndexRow(Base):
    __tablename__ = "message_index"

    event_id = Column(Integer, primary_key=True, autoincrement=False)
    conversation_id = Column(String(255), nullable=False, index=True)
    at = Column(Float, nullable=False, index=True)
    channel = Column(String(64))
    text = Column(Text, nullable=False)
    text_folded = Column(Text, nullable=False)
    intent = Column(String(255), index=True)
    classifier_intent = Column(String(255), index=True)
    confidence = Column(Float)
    answer_kind = Column(String(32))
    answer_score = Column(Float)
    frustrated = Column(Boolean)  # None: logged before frustration was detected
    language = Column(String(16))  # ISO code; None: unknown


class ConversationIndexRow(Base):
    __tablename__ = "conversation_index"

    conversation_id = Column(String(255), primary_key=True)
    channel = Column(String(64), index=True)
    started_at = Column(Float, nullable=False)
    ended_at = Column(Float, nullable=False, index=True)
    user_messages = Column(Integer, nullable=False)
    fallbacks = Column(Integer, nullable=False)
    retrievals = Column(Integer, nullable=False)
    handoffs = Column(Integer, nullable=False)
    min_confidence = Column(Float)
    frustrated_messages = Column(Integer, nullable=False, default=0)
    other_language_messages = Column(Integer, nullable=False, default=0)  # not English


MESSAGES = MessageIndexRow.__table__
CONVERSATIONS = ConversationIndexRow.__table__
REVIEWS = ConversationReviewRow.__table__
FEEDBACK = AnswerFeedback.__table__


def _apply_user(connection: Connection, event_id: int, sender: str, data: dict) -> None:
    if connection.scalar(select(MESSAGES.c.event_id).where(MESSAGES.c.event_id == event_id)):
        return  # already indexed: applying twice would count the message twice
    message = message_values(event_id, sender, data)
    connection.execute(MESSAGES.insert().values(**message))
    row = connection.execute(
        select(CONVERSATIONS).where(CONVERSATIONS.c.conversation_id == sender)
    ).first()
    if row is None:
        connection.execute(CONVERSATIONS.insert().values(**new_conversation(message)))
        return
    connection.execute(
        update(CONVERSATIONS)
        .where(CONVERSATIONS.c.conversation_id == sender)
        .values(**updated_conversation(row, message))
    )


def _apply_bot(connection: Connection, event_id: int, sender: str, data: dict) -> None:
    source = (data.get("metadata") or {}).get("answer_source") or {}
    kind = source.get("kind")
    at = float(data.get("timestamp") or 0.0)
    connection.execute(
        update(CONVERSATIONS)
        .where(CONVERSATIONS.c.conversation_id == sender)
        .values(
            ended_at=func.max(CONVERSATIONS.c.ended_at, at)
            if connection.dialect.name == "sqlite"
            else func.greatest(CONVERSATIONS.c.ended_at, at),
            retrievals=CONVERSATIONS.c.retrievals + (1 if kind == "retrieval" else 0),
            handoffs=CONVERSATIONS.c.handoffs + (1 if kind == "handoff" else 0),
        )
    )
    # Said next to the message's answer, not as it.
    if not kind or kind in ("feedback_request", "other_question", "transcript_added"):
        return
    # The answer belongs to the latest customer message before it still without one.
    latest = (
        select(func.max(MESSAGES.c.event_id))
        .where(MESSAGES.c.conversation_id == sender, MESSAGES.c.event_id < event_id)
        .scalar_subquery()
    )
    connection.execute(
        update(MESSAGES)
        .where(MESSAGES.c.event_id == latest, MESSAGES.c.answer_kind.is_(None))
        .values(answer_kind=kind, answer_score=source.get("score"))
    )


APPLIED_TYPES = ("user", "bot")  # the events the index reads; others change nothing


def _unapplied_ids(connection: Connection, window: Window) -> list[int]:
    """Up to SYNC_BATCH ids of events above the watermark not yet applied, oldest first."""
    candidates = connection.scalars(
        select(EVENTS.c.id)
        .where(EVENTS.c.id > window.watermark, EVENTS.c.type_name.in_(APPLIED_TYPES))
        .order_by(EVENTS.c.id)
        .limit(SYNC_BATCH + len(window.seen))  # at most len(seen) of them are skipped
    )
    return [event_id for event_id in candidates if event_id not in window.seen][:SYNC_BATCH]


def _unapplied(connection: Connection, window: Window) -> list[tuple]:
    """Those events themselves: (id, sender, type, data)."""
    wanted = _unapplied_ids(connection, window)
    rows: list[tuple] = []
    for start in range(0, len(wanted), 500):
        rows += connection.execute(
            select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.data).where(
                EVENTS.c.id.in_(wanted[start : start + 500])
            )
        ).all()
    return sorted(rows, key=lambda row: row[0])


def sync(engine: Engine, lag: float = LAG_SECONDS, clock: Callable[[], float] = time.time) -> int:
    """Index the events logged since the last call, including any that another Rasa worker
    committed late below ones already indexed; returns how many were applied. `lag` and
    `clock` are the window's (bot.storage.index_window)."""
    if not inspect(engine).has_table(EVENTS.name):
        return 0
    ensure_state(engine)
    with engine.connect() as connection:  # most calls find nothing to do: then write nothing
        window = read_window(connection)
        if not _unapplied_ids(connection, window) and not can_close(window, clock(), lag):
            return 0
    applied = 0
    while True:
        with engine.begin() as connection:
            window = open_window(connection)  # waits for another worker's sync to finish
            started = clock()
            rows = _unapplied(connection, window)
            if not rows:
                close_window(connection, window, started, lag)
                return applied
            for event_id, sender, type_name, data in rows:
                if type_name == "user":
                    _apply_user(connection, event_id, sender, json.loads(data))
                else:
                    _apply_bot(connection, event_id, sender, json.loads(data))
            remember(connection, [row[0] for row in rows], clock())
            applied += len(rows)


@dataclass(frozen=True)
class ConversationFilter:
    """What staff narrow the conversation list by; None means "any"."""

    since: dt.date | None = None
    until: dt.date | None = None
    channel: str | None = None
    intent: str | None = None
    confidence_below: float | None = None
    answered_by: str | None = None  # "fallback" | "retrieval" | "handoff"
    negative_feedback: bool = False
    reviewed: bool | None = None
    search: str | None = None
    frustrated: bool = False  # a frustrated message (within the dates, if any)
    language: str | None = None  # OTHER_LANGUAGES or one code: a message in it (ditto)


ANSWERED_BY = ("fallback", "retrieval", "handoff")
# The language filter's "any language but English".
OTHER_LANGUAGES = "other"


@dataclass(frozen=True)
class ConversationRow:
    id: str
    channel: str | None
    started_at: dt.datetime
    ended_at: dt.datetime
    user_messages: int
    fallbacks: int
    retrievals: int
    handoffs: int
    min_confidence: float | None
    reviewed: bool
    frustrated_messages: int = 0
    other_language_messages: int = 0


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _signal_conditions(flt: ConversationFilter) -> list[Any]:
    """A message with each signal asked for (not necessarily the same one), sent within the
    dates: so that a dashboard figure's link lists exactly the conversations it counted."""
    m = MESSAGES.c
    signals: list[Any] = []
    if flt.frustrated:
        signals.append(m.frustrated.is_(True))
    if flt.language == OTHER_LANGUAGES:
        signals.append(and_(m.language.isnot(None), m.language != ENGLISH))
    elif flt.language:
        signals.append(m.language == flt.language)
    within = [m.conversation_id == CONVERSATIONS.c.conversation_id]
    if flt.since is not None:
        within.append(m.at >= day_start(flt.since))
    if flt.until is not None:
        within.append(m.at < day_start(flt.until + dt.timedelta(days=1)))
    return [exists().where(*within, signal) for signal in signals]


def _conditions(flt: ConversationFilter) -> list[Any]:
    c = CONVERSATIONS.c
    conditions: list[Any] = []
    if flt.since is not None:
        conditions.append(c.ended_at >= day_start(flt.since))
    if flt.until is not None:
        conditions.append(c.started_at < day_start(flt.until + dt.timedelta(days=1)))
    if flt.channel:
        conditions.append(c.channel == flt.channel)
    if flt.confidence_below is not None:
        conditions.append(c.min_confidence < flt.confidence_below)
    if flt.answered_by == "fallback":
        conditions.append(c.fallbacks > 0)
    elif flt.answered_by == "retrieval":
        conditions.append(c.retrievals > 0)
    elif flt.answered_by == "handoff":
        conditions.append(c.handoffs > 0)
    if flt.intent:
        conditions.append(
            exists().where(
                MESSAGES.c.conversation_id == c.conversation_id,
                or_(MESSAGES.c.intent == flt.intent, MESSAGES.c.classifier_intent == flt.intent),
            )
        )
    if flt.negative_feedback:
        conditions.append(
            exists().where(
                FEEDBACK.c.conversation_id == c.conversation_id, FEEDBACK.c.helpful.is_(False)
            )
        )
    if flt.reviewed is not None:
        is_reviewed = exists().where(
            REVIEWS.c.conversation_id == c.conversation_id, REVIEWS.c.reviewed.is_(True)
        )
        conditions.append(is_reviewed if flt.reviewed else ~is_reviewed)
    terms = normalise(flt.search or "").split()
    if terms:
        conditions.append(
            exists().where(
                MESSAGES.c.conversation_id == c.conversation_id,
                and_(*(MESSAGES.c.text_folded.like(_like_pattern(t), escape="\\") for t in terms)),
            )
        )
    return conditions + _signal_conditions(flt)


def find_conversations(
    engine: Engine, flt: ConversationFilter, limit: int = 25, offset: int = 0
) -> tuple[list[ConversationRow], int]:
    """A page of matching conversations, newest first, and how many match in all."""
    sync(engine)
    conditions = _conditions(flt)
    reviewed = (
        exists()
        .where(REVIEWS.c.conversation_id == CONVERSATIONS.c.conversation_id)
        .where(REVIEWS.c.reviewed.is_(True))
    )
    query = (
        select(CONVERSATIONS, reviewed.label("reviewed"))
        .where(*conditions)
        .order_by(CONVERSATIONS.c.ended_at.desc(), CONVERSATIONS.c.conversation_id)
        .limit(limit)
        .offset(offset)
    )
    count = select(func.count()).select_from(CONVERSATIONS).where(*conditions)
    with engine.connect() as connection:
        rows = [
            ConversationRow(
                id=row.conversation_id,
                channel=row.channel,
                started_at=utc_from_timestamp(row.started_at),
                ended_at=utc_from_timestamp(row.ended_at),
                user_messages=row.user_messages,
                fallbacks=row.fallbacks,
                retrievals=row.retrievals,
                handoffs=row.handoffs,
                min_confidence=row.min_confidence,
                reviewed=bool(row.reviewed),
                frustrated_messages=row.frustrated_messages,
                other_language_messages=row.other_language_messages,
            )
            for row in connection.execute(query)
        ]
        return rows, int(connection.scalar(count) or 0)


def channels(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        query = select(CONVERSATIONS.c.channel).where(CONVERSATIONS.c.channel.isnot(None))
        return sorted(set(connection.scalars(query.distinct())))


def languages(engine: Engine) -> list[str]:
    """The languages other than English that customers wrote in, for the filter's choices."""
    query = select(MESSAGES.c.language).where(
        MESSAGES.c.language.isnot(None), MESSAGES.c.language != ENGLISH
    )
    with engine.connect() as connection:
        return sorted(set(connection.scalars(query.distinct())))
