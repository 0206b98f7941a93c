"""Read-only statistics over the message index and shopdesk's records, for the review app.

The NLU inbox (customer messages the classifier was unsure about, grouped by similar text),
the dashboard's figures (per day, per intent, per confidence bin, feedback) and the handoff
queue are all read here, so the pages stay thin and the SQL stays in one place. Everything
runs on SQLite and PostgreSQL; days are UTC days. Nothing here writes, apart from `sync`
bringing the index up to date first.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, case, cast, exists, func, or_, select
from sqlalchemy.engine import Connection, Engine

from bot.answers.retrieval.text import tokenize
from bot.learning import review_queue
from bot.nlu.text import normalise
from bot.storage.conversation_index import CONVERSATIONS, FEEDBACK, MESSAGES, sync
from bot.storage.conversation_log import EVENTS, FALLBACK_INTENT, IntentGuess
from bot.storage.handoffs_and_feedback import HandoffRequest
from bot.storage.reviews import MessageReviewRow
from bot.storage.times import day_start, utc_from_timestamp

HANDOFFS = HandoffRequest.__table__
MESSAGE_REVIEWS = MessageReviewRow.__table__

INBOX_THRESHOLD = 0.6
# The inbox groups at most this many unreviewed messages (the newest): enough for weeks of
# traffic, and bounded work per page view however far behind review is.
INBOX_SCAN_LIMIT = 10_000
EXAMPLES_PER_GROUP = 3
GUESSES_PER_GROUP = 3
# Rankings read per group for its top guesses: a sample is as telling as all of them.
GUESS_SAMPLE = 200
TOP_INTENTS = 15
CONFIDENCE_BINS = 10
SECONDS_PER_DAY = 86_400


# ---------------------------------------------------------------------------- inbox


@dataclass(frozen=True)
class InboxMessage:
    event_id: int
    conversation_id: str
    at: dt.datetime
    text: str
    intent: str | None
    confidence: float | None


@dataclass(frozen=True)
class InboxGroup:
    """Unreviewed messages that read alike; labelled together, in one go."""

    key: str
    messages: tuple[InboxMessage, ...]  # newest first
    guesses: tuple[IntentGuess, ...] = ()  # the classifier's, averaged over the group

    @property
    def count(self) -> int:
        return len(self.messages)

    @property
    def event_ids(self) -> list[int]:
        return [message.event_id for message in self.messages]

    @property
    def fallbacks(self) -> int:
        return sum(1 for message in self.messages if message.intent == FALLBACK_INTENT)

    def examples(self, limit: int = EXAMPLES_PER_GROUP) -> list[InboxMessage]:
        """The newest messages with distinct texts."""
        seen: set[str] = set()
        chosen = []
        for message in self.messages:
            if message.text not in seen:
                seen.add(message.text)
                chosen.append(message)
            if len(chosen) == limit:
                break
        return chosen


@dataclass(frozen=True)
class InboxPage:
    groups: list[InboxGroup]
    total_groups: int
    total_messages: int
    capped: bool  # more unreviewed messages than INBOX_SCAN_LIMIT: the oldest wait
    page: int  # the page shown: the one asked for, or the last when fewer are left
    pages: int
    strategy: str = ""  # the review queue's order the groups are in (bot/learning/review_queue.py)


def similarity_key(text: str) -> str:
    """Messages with the same key are "the same question": the retrieval tokenizer's sorted
    unique terms (stemmed, stop words dropped), or the folded text when no term is left."""
    terms = sorted(set(tokenize(text)))
    return " ".join(terms) if terms else normalise(text)


def _in_inbox(threshold: float) -> Any:
    unsure = or_(MESSAGES.c.confidence < threshold, MESSAGES.c.intent == FALLBACK_INTENT)
    reviewed = exists().where(MESSAGE_REVIEWS.c.event_id == MESSAGES.c.event_id)
    return unsure & ~reviewed


def _inbox_messages(connection: Connection, threshold: float, limit: int) -> list[InboxMessage]:
    m = MESSAGES.c
    query = (
        select(m.event_id, m.conversation_id, m.at, m.text, m.intent, m.confidence)
        .where(_in_inbox(threshold))
        .order_by(m.event_id.desc())
        .limit(limit)
    )
    return [
        InboxMessage(
            row.event_id,
            row.conversation_id,
            utc_from_timestamp(row.at),
            row.text,
            row.intent,
            row.confidence,
        )
        for row in connection.execute(query)
    ]


def group_messages(
    messages: Iterable[InboxMessage], rank: dict[int, int] | None = None
) -> list[InboxGroup]:
    """Groups by similarity key. With `rank` (event id -> place in the review queue) a group
    comes where its best member does; then the most frequent first, then the most recent."""
    by_key: dict[str, list[InboxMessage]] = defaultdict(list)
    for message in messages:
        by_key[similarity_key(message.text)].append(message)
    groups = [
        InboxGroup(key, tuple(sorted(members, key=lambda m: m.event_id, reverse=True)))
        for key, members in by_key.items()
    ]
    last = len(rank or {})
    best = {g.key: min((rank or {}).get(i, last) for i in g.event_ids) for g in groups}
    groups.sort(key=lambda g: (best[g.key], -g.count, -g.messages[0].event_id, g.key))
    return groups


def _top_guesses(connection: Connection, event_ids: list[int]) -> tuple[IntentGuess, ...]:
    """The classifier's ranking averaged over (a sample of) the group's messages."""
    sample = event_ids[:GUESS_SAMPLE]
    totals: dict[str, float] = defaultdict(float)
    query = select(EVENTS.c.data).where(EVENTS.c.id.in_(sample))
    for (data,) in connection.execute(query):
        parse = json.loads(data or "{}").get("parse_data") or {}
        for entry in parse.get("intent_ranking") or []:
            name = entry.get("name")
            if name and name != FALLBACK_INTENT:
                totals[name] += float(entry.get("confidence") or 0.0)
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:GUESSES_PER_GROUP]
    return tuple(IntentGuess(name, total / len(sample)) for name, total in ranked)


def inbox_page(
    engine: Engine, threshold: float, page: int, size: int, strategy: str | None = None
) -> InboxPage:
    """One page of inbox groups in the review queue's order (`strategy`, else the default),
    with the classifier's guesses, and the inbox's totals."""
    strategy = strategy or review_queue.DEFAULT_STRATEGY
    sync(engine)
    with engine.connect() as connection:
        messages = _inbox_messages(connection, threshold, INBOX_SCAN_LIMIT + 1)
        capped = len(messages) > INBOX_SCAN_LIMIT
        kept = messages[:INBOX_SCAN_LIMIT]
        said = [(m.event_id, m.conversation_id, m.text) for m in kept]
        groups = group_messages(kept, review_queue.ranks(connection, said, strategy))
        pages = max(1, -(-len(groups) // size))
        page = min(page, pages)  # after labelling the last group of the last page
        shown = [
            InboxGroup(g.key, g.messages, _top_guesses(connection, g.event_ids))
            for g in groups[(page - 1) * size : page * size]
        ]
    total = min(len(messages), INBOX_SCAN_LIMIT)
    return InboxPage(shown, len(groups), total, capped, page, pages, strategy)


def inbox_conversations(
    engine: Engine, event_ids: Collection[int], threshold: float
) -> dict[int, str]:
    """Of `event_ids`, those still in the inbox at `threshold`, with their conversation."""
    sync(engine)
    found: dict[int, str] = {}
    ids = sorted(set(event_ids))
    with engine.connect() as connection:
        for start in range(0, len(ids), 500):  # bounded IN lists
            query = select(MESSAGES.c.event_id, MESSAGES.c.conversation_id).where(
                MESSAGES.c.event_id.in_(ids[start : start + 500]), _in_inbox(threshold)
            )
            found.update(dict(connection.execute(query).all()))
    return found


# ------------------------------------------------------------------------ dashboard


@dataclass(frozen=True)
class DayStats:
    day: dt.date
    conversations: int = 0
    handoff_conversations: int = 0
    messages: int = 0
    fallbacks: int = 0

    @property
    def fallback_rate(self) -> float | None:
        return self.fallbacks / self.messages if self.messages else None

    @property
    def handoff_rate(self) -> float | None:
        return self.handoff_conversations / self.conversations if self.conversations else None


@dataclass(frozen=True)
class DashboardStats:
    """Everything the dashboard shows for a range of days; hashable, so charts can be cached."""

    since: dt.date
    until: dt.date
    days: tuple[DayStats, ...]
    intents: tuple[tuple[str, int], ...]  # the most frequent first
    confidence_bins: tuple[int, ...]  # [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]
    helpful: int
    not_helpful: int

    @property
    def conversations(self) -> int:
        return sum(day.conversations for day in self.days)

    @property
    def handoff_conversations(self) -> int:
        return sum(day.handoff_conversations for day in self.days)

    @property
    def messages(self) -> int:
        return sum(day.messages for day in self.days)

    @property
    def fallbacks(self) -> int:
        return sum(day.fallbacks for day in self.days)

    @property
    def fallback_rate(self) -> float | None:
        return self.fallbacks / self.messages if self.messages else None

    @property
    def handoff_rate(self) -> float | None:
        return self.handoff_conversations / self.conversations if self.conversations else None

    @property
    def feedback(self) -> int:
        return self.helpful + self.not_helpful

    @property
    def helpful_share(self) -> float | None:
        return self.helpful / self.feedback if self.feedback else None


def _day_number(column: Any, dialect: str) -> Any:
    """Days since 1970-01-01 (UTC) of an epoch-seconds column, floored on every database."""
    if dialect == "sqlite":  # CAST truncates, which is floor for times after 1970
        return cast(column / SECONDS_PER_DAY, Integer)
    return cast(func.floor(column / SECONDS_PER_DAY), Integer)  # PostgreSQL's CAST rounds


def _day(number: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(number))


def _conversations_per_day(connection: Connection, start: float, end: float) -> dict:
    c = CONVERSATIONS.c
    day = _day_number(c.started_at, connection.dialect.name).label("day")
    handed = or_(c.handoffs > 0, exists().where(HANDOFFS.c.conversation_id == c.conversation_id))
    query = (
        select(day, func.count(), func.sum(case((handed, 1), else_=0)))
        .where(c.started_at >= start, c.started_at < end)
        .group_by(day)
    )
    return {
        _day(n): (int(total), int(handoffs or 0))
        for n, total, handoffs in connection.execute(query)
    }


def _messages_per_day(connection: Connection, start: float, end: float) -> dict:
    m = MESSAGES.c
    day = _day_number(m.at, connection.dialect.name).label("day")
    fallback = func.sum(case((m.intent == FALLBACK_INTENT, 1), else_=0))
    query = select(day, func.count(), fallback).where(m.at >= start, m.at < end).group_by(day)
    return {
        _day(n): (int(total), int(fallbacks or 0))
        for n, total, fallbacks in connection.execute(query)
    }


def _intents(connection: Connection, start: float, end: float) -> tuple[tuple[str, int], ...]:
    m = MESSAGES.c
    count = func.count().label("n")
    query = (
        select(m.intent, count)
        .where(m.at >= start, m.at < end, m.intent.isnot(None))
        .group_by(m.intent)
        .order_by(count.desc(), m.intent)
        .limit(TOP_INTENTS)
    )
    return tuple((intent, int(n)) for intent, n in connection.execute(query))


def _confidence_bins(connection: Connection, start: float, end: float) -> tuple[int, ...]:
    """Counts per bin [0, 0.1), [0.1, 0.2) ... [0.9, 1]; edges as i / 10, since 7 * 0.1 is
    0.7000000000000001 and would put a confidence of 0.7 in the bin below."""
    m = MESSAGES.c
    bins = []
    for index in range(CONFIDENCE_BINS):
        low = m.confidence >= index / CONFIDENCE_BINS if index else m.confidence.isnot(None)
        last = index == CONFIDENCE_BINS - 1
        inside = low if last else low & (m.confidence < (index + 1) / CONFIDENCE_BINS)
        bins.append(func.sum(case((inside, 1), else_=0)))
    row = connection.execute(select(*bins).where(m.at >= start, m.at < end)).one()
    return tuple(int(value or 0) for value in row)


def _feedback(connection: Connection, since: dt.date, until: dt.date) -> tuple[int, int]:
    f = FEEDBACK.c
    start = dt.datetime(since.year, since.month, since.day)
    end = dt.datetime(until.year, until.month, until.day) + dt.timedelta(days=1)
    query = (
        select(f.helpful, func.count())
        .where(f.created_at >= start, f.created_at < end)
        .group_by(f.helpful)
    )
    counts = {bool(helpful): int(n) for helpful, n in connection.execute(query)}
    return counts.get(True, 0), counts.get(False, 0)


def dashboard_stats(engine: Engine, since: dt.date, until: dt.date) -> DashboardStats:
    """The dashboard's figures for the UTC days `since` to `until`, both included."""
    sync(engine)
    start, end = day_start(since), day_start(until + dt.timedelta(days=1))
    with engine.connect() as connection:
        conversations = _conversations_per_day(connection, start, end)
        messages = _messages_per_day(connection, start, end)
        intents = _intents(connection, start, end)
        bins = _confidence_bins(connection, start, end)
        helpful, not_helpful = _feedback(connection, since, until)
    days = []
    for offset in range((until - since).days + 1):
        day = since + dt.timedelta(days=offset)
        started, handed = conversations.get(day, (0, 0))
        said, fell_back = messages.get(day, (0, 0))
        days.append(DayStats(day, started, handed, said, fell_back))
    return DashboardStats(since, until, tuple(days), intents, bins, helpful, not_helpful)
