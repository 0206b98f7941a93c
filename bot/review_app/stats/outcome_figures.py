"""The dashboard's outcome figures, and the conversations behind each, read from the log.

Reads the message index (each customer message with its intent, confidence and the kind of
its answer) and the action server's handoff requests and "not helpful" feedback, cuts each
conversation into sessions and classifies every session that started in the chosen UTC days
with the rules of `bot/review_app/stats/outcomes.py`. The conversation list's `outcome` filter
calls the same
function, so a link from the dashboard lists exactly the conversations whose sessions a
figure counts (a conversation once, however many of its sessions that are).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from bot.review_app.stats.outcomes import (
    ABANDONED,
    ABANDONED_REASONS,
    CAME_BACK_SECONDS,
    HANDED_OFF,
    OUTCOMES,
    RESOLVED,
    SESSION_GAP_SECONDS,
    UNRECORDED,
    Message,
    Session,
    SessionOutcome,
    classify,
    shares,
    split_sessions,
)
from bot.storage.conversation_index import FEEDBACK, MESSAGES, sync
from bot.storage.handoffs_and_feedback import HANDOFF_REASONS, HandoffRequest

HANDOFFS = HandoffRequest.__table__
# Read past the range's end: a session started on its last day may go on after midnight,
# and its customer may come back up to 24 hours after its last message.
LOOKAHEAD_SECONDS = CAME_BACK_SECONDS + 24 * 60 * 60
# The conversation list's `outcome=any`: every session the figures count, whatever its outcome.
ANY = "any"


@dataclass(frozen=True)
class IntentOutcomes:
    """One row of the per-intent table: sessions whose question had this intent."""

    intent: str | None
    sessions: int
    resolved: int
    handed_off: int
    abandoned: int
    mean_confidence: float | None

    @property
    def shares(self) -> tuple[int, ...]:
        """Percent resolved, handed off, abandoned; they add up to 100."""
        return shares((self.resolved, self.handed_off, self.abandoned))


@dataclass(frozen=True)
class OutcomeSummary:
    since: dt.date
    until: dt.date
    counts: dict[str, int]  # by outcome
    handoff_reasons: tuple[tuple[str, int], ...]  # every known reason, then any other
    abandoned_reasons: tuple[tuple[str, int], ...]  # in ABANDONED_REASONS' order
    intents: tuple[IntentOutcomes, ...]  # the most sessions first

    @property
    def sessions(self) -> int:
        return sum(self.counts.values())

    @property
    def shares(self) -> dict[str, int]:
        """Percent of sessions per outcome, adding up to 100 (all 0 without sessions)."""
        return dict(zip(OUTCOMES, shares([self.counts[o] for o in OUTCOMES]), strict=True))

    @property
    def resolution_rate(self) -> float | None:
        return self.counts[RESOLVED] / self.sessions if self.sessions else None


def _epoch(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


def _naive_utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).replace(tzinfo=None)


def _seconds(value: dt.datetime) -> float:
    return value.replace(tzinfo=dt.timezone.utc).timestamp()


def _messages(connection: Connection, start: float, end: float) -> dict[str, list[Message]]:
    m = MESSAGES.c
    query = (
        select(
            m.conversation_id,
            m.event_id,
            m.at,
            m.intent,
            m.classifier_intent,
            m.confidence,
            m.answer_kind,
        )
        .where(m.at >= start, m.at < end)
        .order_by(m.conversation_id, m.at, m.event_id)
    )
    found: dict[str, list[Message]] = defaultdict(list)
    for row in connection.execute(query):
        found[row.conversation_id].append(Message(*row[1:]))
    return found


def _records(connection: Connection, start: float, end: float) -> tuple[dict, dict]:
    """Handoff requests (time, reason) and "not helpful" times, by conversation, oldest first."""
    low, high = _naive_utc(start), _naive_utc(end)
    h, f = HANDOFFS.c, FEEDBACK.c
    handoffs: dict[str, list[tuple[float, str]]] = defaultdict(list)
    query = (
        select(h.conversation_id, h.created_at, h.reason)
        .where(h.created_at >= low, h.created_at < high)
        .order_by(h.created_at, h.id)
    )
    for conversation_id, created_at, reason in connection.execute(query):
        handoffs[conversation_id].append((_seconds(created_at), reason))
    unhelpful: dict[str, list[float]] = defaultdict(list)
    query = (
        select(f.conversation_id, f.created_at)
        .where(f.created_at >= low, f.created_at < high, f.helpful.is_(False))
        .order_by(f.created_at, f.id)
    )
    for conversation_id, created_at in connection.execute(query):
        unhelpful[conversation_id].append(_seconds(created_at))
    return handoffs, unhelpful


def _sessions(
    conversation_id: str,
    messages: list[Message],
    handoffs: Iterable[tuple[float, str]],
    unhelpful: Iterable[float],
) -> list[Session]:
    """The conversation's sessions, each with the records made between its first message and
    the next session's (records from before the first one belong to an earlier session)."""
    parts = split_sessions(messages)
    starts = [part[0].at for part in parts]
    reasons: list[list[str]] = [[] for _ in parts]
    not_helpful: list[list[float]] = [[] for _ in parts]
    for at, reason in handoffs:
        if (index := bisect_right(starts, at) - 1) >= 0:
            reasons[index].append(reason)
    for at in unhelpful:
        if (index := bisect_right(starts, at) - 1) >= 0:
            not_helpful[index].append(at)
    return [
        Session(conversation_id, part, tuple(reasons[i]), tuple(not_helpful[i]))
        for i, part in enumerate(parts)
    ]


def session_outcomes(engine: Engine, since: dt.date, until: dt.date) -> list[SessionOutcome]:
    """Every session that started in the UTC days `since` to `until` (both included), with
    its outcome, in order of conversation and start."""
    sync(engine)
    start, end = _epoch(since), _epoch(until + dt.timedelta(days=1))
    # From one session gap before the start: a message there means the first one in range
    # continues an earlier session rather than starting one.
    window = (start - SESSION_GAP_SECONDS, end + LOOKAHEAD_SECONDS)
    with engine.connect() as connection:
        messages = _messages(connection, *window)
        handoffs, unhelpful = _records(connection, *window)
    outcomes = []
    for conversation_id, found in messages.items():
        sessions = _sessions(
            conversation_id,
            found,
            handoffs.get(conversation_id, ()),
            unhelpful.get(conversation_id, ()),
        )
        for index, session in enumerate(sessions):
            if start <= session.started_at < end:
                later = sessions[index + 1] if index + 1 < len(sessions) else None
                outcomes.append(classify(session, later))
    return outcomes


def _handoff_reasons(outcomes: list[SessionOutcome]) -> tuple[tuple[str, int], ...]:
    counts = Counter(o.reason or UNRECORDED for o in outcomes if o.outcome == HANDED_OFF)
    others = sorted(reason for reason in counts if reason not in HANDOFF_REASONS)
    return tuple((reason, counts[reason]) for reason in (*HANDOFF_REASONS, *others))


def _intent_rows(outcomes: list[SessionOutcome]) -> tuple[IntentOutcomes, ...]:
    by_intent: dict[str | None, list[SessionOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_intent[outcome.intent].append(outcome)
    rows = []
    for intent, members in by_intent.items():
        counts = Counter(o.outcome for o in members)
        confidences = [
            o.question.confidence
            for o in members
            if o.question is not None and o.question.confidence is not None
        ]
        mean = sum(confidences) / len(confidences) if confidences else None
        rows.append(
            IntentOutcomes(
                intent,
                len(members),
                counts[RESOLVED],
                counts[HANDED_OFF],
                counts[ABANDONED],
                mean,
            )
        )
    rows.sort(key=lambda row: (-row.sessions, row.intent or ""))
    return tuple(rows)


def summarize(outcomes: list[SessionOutcome], since: dt.date, until: dt.date) -> OutcomeSummary:
    """Counts per outcome, per handoff reason, per reason for abandoning, and per intent."""
    counts = Counter(o.outcome for o in outcomes)
    abandoned = Counter(o.reason for o in outcomes if o.outcome == ABANDONED)
    return OutcomeSummary(
        since,
        until,
        {outcome: counts[outcome] for outcome in OUTCOMES},
        _handoff_reasons(outcomes),
        tuple((reason, abandoned[reason]) for reason in ABANDONED_REASONS),
        _intent_rows(outcomes),
    )


def outcome_summary(engine: Engine, since: dt.date, until: dt.date) -> OutcomeSummary:
    """The dashboard's outcome figures for the UTC days `since` to `until`, both included."""
    return summarize(session_outcomes(engine, since, until), since, until)


def matches(
    outcome: SessionOutcome, wanted: str, reason: str | None = None, intent: str | None = None
) -> bool:
    """Whether a session counts in the figure a link names: an outcome (or ANY), optionally
    narrowed to a reason and to the intent of the session's question."""
    if wanted != ANY and outcome.outcome != wanted:
        return False
    if reason is not None and outcome.reason != reason:
        return False
    return intent is None or outcome.intent == intent


def conversations_with(
    engine: Engine,
    since: dt.date,
    until: dt.date,
    wanted: str,
    reason: str | None = None,
    intent: str | None = None,
) -> set[str]:
    """The conversations with a session counted in that figure (see `matches`)."""
    return {
        outcome.conversation_id
        for outcome in session_outcomes(engine, since, until)
        if matches(outcome, wanted, reason, intent)
    }
