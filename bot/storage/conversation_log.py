"""Reads logged conversations back from Rasa's tracker store through SQLAlchemy.

The Rasa server writes every event to the `events` table (`SQLTrackerStore`); this module
turns those rows, with the action server's handoff and feedback records, into what staff
review: who talked on which channel and when, each user message with the predicted intent,
confidence, ranking, entities, frustration and language, and each bot message with why it
was said.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.nlu.intents import FALLBACK_INTENT
from bot.nlu.message_signals import is_other_language, signals_of
from bot.storage.database import open_database
from bot.storage.handoffs_and_feedback import AnswerFeedback, HandoffRequest

# Set by the LanguageDetector for a language the bot does not speak (bot/nlu/).
OTHER_LANGUAGE_INTENT = "other_language"
# Intents the pipeline puts in front of the classifier's ranking: never the classifier's guess
# and never training data.
PIPELINE_INTENTS = frozenset({FALLBACK_INTENT, OTHER_LANGUAGE_INTENT})

# Rasa's `SQLTrackerStore.SQLEvent` table, declared here so that reading the log does not
# import Rasa (tests/unit/test_conversation_log.py checks the two agree).
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def _time(timestamp: float | None) -> dt.datetime | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class IntentGuess:
    name: str
    confidence: float


@dataclass
class UserTurn:
    event_id: int
    at: dt.datetime
    text: str
    intent: str | None
    confidence: float | None
    ranking: list[IntentGuess]
    entities: list[dict[str, Any]]
    channel: str | None
    message_id: str | None
    frustrated: bool | None = None  # None: logged before frustration was detected
    language: str | None = None  # ISO code; None: unknown
    kind: str = "user"

    @property
    def other_language(self) -> bool:
        """Written in a language other than the bot's English (unknown is not other)."""
        return is_other_language(self.language)

    @property
    def classifier_intent(self) -> IntentGuess | None:
        """The classifier's own top intent, also when the fallback or language check overrode it."""
        return next((g for g in self.ranking if g.name not in PIPELINE_INTENTS), None)


@dataclass
class BotTurn:
    event_id: int
    at: dt.datetime
    text: str | None
    buttons: list[dict[str, Any]]
    source: dict[str, Any]  # answer_source metadata: template, retrieval, handoff, ...
    feedback: bool | None = None  # the customer's "did this help?" answer, when asked
    kind: str = "bot"


@dataclass
class StatusTurn:
    """The bot went quiet for a person (`pause`) or was given the conversation back."""

    event_id: int
    at: dt.datetime
    status: str  # "paused" | "resumed"
    kind: str = "status"


Turn = UserTurn | BotTurn | StatusTurn


@dataclass(frozen=True)
class HandoffInfo:
    reason: str
    status: str
    created_at: dt.datetime


@dataclass
class Conversation:
    id: str
    channel: str | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    turns: list[Turn] = field(default_factory=list)
    handoffs: list[HandoffInfo] = field(default_factory=list)
    paused: bool = False

    @property
    def user_turns(self) -> list[UserTurn]:
        return [turn for turn in self.turns if isinstance(turn, UserTurn)]

    def answers_to(self, user_turn: UserTurn) -> list[BotTurn]:
        """The bot messages sent in reply to `user_turn` (until the next user message)."""
        index = self.turns.index(user_turn)
        replies = []
        for turn in self.turns[index + 1 :]:
            if isinstance(turn, UserTurn):
                break
            if isinstance(turn, BotTurn):
                replies.append(turn)
        return replies


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    user_messages: int


def _user_turn(event_id: int, data: dict[str, Any]) -> UserTurn:
    parse = data.get("parse_data") or {}
    intent = parse.get("intent") or {}
    ranking = [
        IntentGuess(str(entry.get("name")), float(entry.get("confidence") or 0.0))
        for entry in parse.get("intent_ranking") or []
        if entry.get("name")
    ]
    signals = signals_of(parse)
    return UserTurn(
        event_id=event_id,
        at=_time(data.get("timestamp")),
        text=data.get("text") or "",
        intent=intent.get("name"),
        confidence=intent.get("confidence"),
        ranking=ranking,
        entities=list(parse.get("entities") or []),
        channel=data.get("input_channel"),
        message_id=data.get("message_id"),
        frustrated=signals.frustrated,
        language=signals.language,
    )


def _bot_turn(event_id: int, data: dict[str, Any]) -> BotTurn:
    return BotTurn(
        event_id=event_id,
        at=_time(data.get("timestamp")),
        text=data.get("text"),
        buttons=list((data.get("data") or {}).get("buttons") or []),
        source=dict((data.get("metadata") or {}).get("answer_source") or {}),
    )


class ConversationLog:
    """Conversations in shopdesk's database, newest first."""

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        self.engine = engine or open_database(url)

    def _has_events(self) -> bool:
        # Rasa's tracker store creates the table with the first conversation.
        return inspect(self.engine).has_table(EVENTS.name)

    def list(
        self,
        limit: int = 50,
        offset: int = 0,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[ConversationSummary]:
        if not self._has_events():
            return []
        started = func.min(EVENTS.c.timestamp)
        ended = func.max(EVENTS.c.timestamp)
        user_messages = func.sum((EVENTS.c.type_name == "user").cast(Integer))
        query = select(EVENTS.c.sender_id, started, ended, user_messages).group_by(
            EVENTS.c.sender_id
        )
        if since is not None:
            query = query.having(ended >= since.replace(tzinfo=dt.timezone.utc).timestamp())
        if until is not None:
            query = query.having(started < until.replace(tzinfo=dt.timezone.utc).timestamp())
        query = query.order_by(ended.desc(), EVENTS.c.sender_id).limit(limit).offset(offset)
        with self.engine.connect() as connection:
            return [
                ConversationSummary(sender, _time(first), _time(last), int(count or 0))
                for sender, first, last, count in connection.execute(query)
            ]

    def ids(self) -> list[str]:
        if not self._has_events():
            return []
        with self.engine.connect() as connection:
            query = select(EVENTS.c.sender_id).distinct().order_by(EVENTS.c.sender_id)
            return list(connection.scalars(query))

    def conversation_of_message(self, event_id: int) -> str | None:
        """The conversation a user message (by its row id) belongs to; None if no such."""
        if not self._has_events():
            return None
        query = select(EVENTS.c.sender_id).where(
            EVENTS.c.id == event_id, EVENTS.c.type_name == "user"
        )
        with self.engine.connect() as connection:
            return connection.scalar(query)

    def raw_events(self, conversation_id: str) -> list[tuple[int, dict[str, Any]]]:
        """(row id, Rasa's event dict) in the order Rasa stored them."""
        if not self._has_events():
            return []
        query = (
            select(EVENTS.c.id, EVENTS.c.data)
            .where(EVENTS.c.sender_id == conversation_id)
            .order_by(EVENTS.c.id)
        )
        with self.engine.connect() as connection:
            return [(row_id, json.loads(data)) for row_id, data in connection.execute(query)]

    def read(self, conversation_id: str) -> Conversation | None:
        events = self.raw_events(conversation_id)
        if not events:
            return None
        conversation = Conversation(
            id=conversation_id,
            channel=None,
            started_at=_time(events[0][1].get("timestamp")),
            ended_at=_time(events[-1][1].get("timestamp")),
        )
        for event_id, data in events:
            kind = data.get("event")
            if kind == "user":
                turn = _user_turn(event_id, data)
                conversation.channel = conversation.channel or turn.channel
                conversation.turns.append(turn)
            elif kind == "bot":
                conversation.turns.append(_bot_turn(event_id, data))
            elif kind in ("pause", "resume"):
                conversation.paused = kind == "pause"
                status = "paused" if kind == "pause" else "resumed"
                conversation.turns.append(
                    StatusTurn(event_id, _time(data.get("timestamp")), status)
                )
            elif kind == "restart":
                conversation.paused = False
        self._add_records(conversation)
        return conversation

    def _add_records(self, conversation: Conversation) -> None:
        """Handoff requests and feedback that the action server stored for this conversation."""
        with Session(self.engine) as session:
            handoffs = session.scalars(
                select(HandoffRequest)
                .where(HandoffRequest.conversation_id == conversation.id)
                .order_by(HandoffRequest.id)
            ).all()
            conversation.handoffs = [
                HandoffInfo(row.reason, row.status, row.created_at) for row in handoffs
            ]
            feedback = session.scalars(
                select(AnswerFeedback)
                .where(AnswerFeedback.conversation_id == conversation.id)
                .order_by(AnswerFeedback.id)
            ).all()
        # Each feedback row answers the latest retrieved answer with that source before it.
        for row in feedback:
            for turn in reversed(conversation.turns):
                if (
                    isinstance(turn, BotTurn)
                    and turn.source.get("id") == row.answer_source
                    and turn.at <= row.created_at
                    and turn.feedback is None
                ):
                    turn.feedback = row.helpful
                    break
